"""Banking phone calls for the HarperValleyBank-style corpus, with task, dialog-act and sentiment labels.

Usage::

    gen = BankingDialogs(np.random.default_rng(0))
    for utt in gen.conversation():
        print(utt.role, utt.text, utt.task_type, utt.dialog_acts, utt.sentiment)

A conversation has one task type (why the customer called) shared by all its utterances, like the
real corpus; most utterances mention the task in words (so a model can learn it from speech), the
greetings and short acknowledgements do not. Dialog acts are attached to the phrases an utterance is
built from. Sentiment is the average of three simulated annotators' votes (negative, neutral,
positive) whose probabilities are computed from the cue phrases in the text.

Transcripts use the corpus character set (lowercase letters, space, ``'``, ``-``, and silent
tokens in brackets such as ``[noise]``). Silent tokens only open or close an utterance; the audio
renders them as a sound event there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

TASK_TYPES = (
    "check_balance", "get_branch_hours", "order_checks", "pay_bill",
    "replace_card", "reset_password", "schedule_appointment", "transfer_money",
)  # fmt: skip
DIALOG_ACTS = (
    "acknowledgement", "closing", "data_communication", "data_confirmation", "data_question",
    "data_response", "greeting", "open_question", "problem_description", "procedure_explanation",
    "response_other", "statement_instruction", "thanking", "yes_response",
)  # fmt: skip
SENTIMENTS = ("negative", "neutral", "positive")
SILENT_TOKENS = ("[noise]", "[laughter]", "[cough]", "[ringing]")
TRANSCRIPT_CHARS = re.compile(r"^[a-z' ~\-.<>\[\]]+$")

SILENT_TOKEN_PROB = 0.05  # per utterance
FILLER_PROB = 0.08  # "um"/"uh" before a caller's sentence
NUM_ANNOTATORS = 3
MOODS = ("negative", "neutral", "positive")
MOOD_WEIGHTS = (0.25, 0.5, 0.25)
MOOD_CUE_PROB = 0.6  # chance that an upset/happy caller shows it in a given utterance
RECAP_PROB = 0.6  # the agent sums up the task before closing
SKIP_ACCOUNT_PROB = 0.4  # calls where the agent does not ask for the account number

# Fillers for {slots}.
SLOTS: dict[str, tuple[str, ...]] = {
    "account": ("checking", "savings", "business", "joint", "credit card"),
    "amount": ("fifty dollars", "a hundred dollars", "two hundred dollars", "twenty-five dollars",
               "three hundred and forty dollars", "five hundred dollars", "a thousand dollars", "seventy-five dollars"),
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "time": ("nine in the morning", "ten thirty", "noon", "two in the afternoon", "four o'clock"),
    "branch": ("main street", "downtown", "harbor", "airport", "university", "riverside", "north side"),
    "bill": ("electric", "water", "phone", "internet", "gas", "mortgage", "car insurance"),
    "card": ("debit", "credit", "atm"),
    "advisor": ("loan officer", "financial advisor", "mortgage specialist", "branch manager"),
    "days": ("three", "five", "seven", "ten"),
    "name": ("james", "maria", "david", "linda", "michael", "susan", "robert", "karen", "daniel", "nancy",
             "kevin", "lisa", "brian", "emily", "jason", "sandra", "eric", "rachel", "scott", "angela"),
    "surname": ("smith", "johnson", "brown", "garcia", "miller", "davis", "wilson", "moore", "taylor",
                "thomas", "jackson", "white", "harris", "martin", "clark", "lewis", "walker", "young"),
    "digit": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "agent": ("ashley", "john", "megan", "chris", "tyler", "jessica", "matt", "olivia"),
}

# Per task: what the caller says first, how the agent asks and confirms, extra details, and the resolution.
TASK_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "check_balance": {
        "recap": ("that is your current balance",),
        "question": ("which account would you like the balance for", "do you want the balance for checking or savings"),
        "confirm": ("okay i have your {account} account open", "alright i can see the balance screen for your accounts"),
        "problem": ("i'd like to check the balance on my {account} account", "can you tell me how much money i have in my {account} account",
                    "i want to know my current balance", "i need to check how much is left in my {account} account"),
        "detail": ("just the {account} account please", "i think the balance should be around {amount}", "the balance on my {account} account"),
        "help": ("check your balance", "look up your {account} balance"),
        "procedure": ("your {account} account has a balance of {amount}", "i see a current balance of {amount} in your {account} account",
                      "the available balance on your {account} account is {amount}"),
    },
    "get_branch_hours": {
        "recap": ("those are the hours for that branch",),
        "question": ("which branch are you asking about", "what day were you planning to visit the branch"),
        "confirm": ("okay i have the schedule for the {branch} branch", "alright let me look at the branch hours"),
        "problem": ("what time does the {branch} branch open on {day}", "i wanted to ask about your branch hours",
                    "is the {branch} branch open on {day}", "what are the hours for the {branch} branch"),
        "detail": ("the one on {branch}", "i was hoping to come in on {day}", "does it close early on {day}"),
        "help": ("find our branch hours", "check the hours for that branch"),
        "procedure": ("the {branch} branch is open from nine to five on {day}", "on {day} the {branch} branch opens at {time}",
                      "that branch closes at four o'clock on {day}"),
    },
    "order_checks": {
        "recap": ("your checks are ordered",),
        "question": ("how many checkbooks would you like to order", "which account are the checks for"),
        "confirm": ("okay i see your last check order", "alright i can order checks for that account"),
        "problem": ("i need to order new checks", "i'm running out of checks and i'd like to order more",
                    "can i order a new checkbook for my {account} account", "i want to get more paper checks"),
        "detail": ("two checkbooks please", "the same design as my old checks", "one box of checks for the {account} account"),
        "help": ("order new checks", "get you a new checkbook"),
        "procedure": ("your new checks will arrive in {days} business days", "i've placed the order for your checks and they will be mailed to you",
                      "the checkbook will ship to your home address within {days} days"),
    },
    "pay_bill": {
        "recap": ("your bill payment is all set",),
        "question": ("which bill would you like to pay", "how much would you like to pay toward the bill"),
        "confirm": ("okay i see your {bill} company on file", "alright i have the bill payment page open"),
        "problem": ("i want to pay my {bill} bill", "can i set up a payment for my {bill} bill",
                    "i need to make a payment on my {bill} bill", "i'd like to pay a bill from my {account} account"),
        "detail": ("i'd like to pay {amount}", "the {bill} bill is {amount} this month", "please take it out of my {account} account"),
        "help": ("pay that bill", "set up your bill payment"),
        "procedure": ("i've scheduled a payment of {amount} for your {bill} bill", "your {bill} bill payment of {amount} will go out on {day}",
                      "the payment to your {bill} company has been sent"),
    },
    "replace_card": {
        "recap": ("your new card is on the way",),
        "question": ("when did you last have the card", "is the card lost or damaged"),
        "confirm": ("okay i see the {card} card on your account", "alright i found the card you are calling about"),
        "problem": ("i lost my {card} card", "my {card} card was stolen", "i need to replace my {card} card",
                    "my {card} card is broken and it doesn't work at the machine"),
        "detail": ("i think i lost it on {day}", "i haven't seen the card since {day}", "it's the {card} card for my {account} account"),
        "help": ("replace your card", "cancel that card and send a new one"),
        "procedure": ("i've cancelled your old {card} card and a new card will arrive in {days} days",
                      "your replacement {card} card is on its way", "i've blocked the lost card so no one can use it"),
    },
    "reset_password": {
        "recap": ("your password reset is done",),
        "question": ("what is the email address on your online account", "when did you last log in to online banking"),
        "confirm": ("okay i see your online banking profile", "alright i found your login and it is locked"),
        "problem": ("i forgot my password", "i can't log in to my online banking", "i need to reset my password",
                    "i'm locked out of my online account"),
        "detail": ("i tried to log in this morning", "the website says my password is wrong", "i use the mobile app"),
        "help": ("reset your password", "get you back into online banking"),
        "procedure": ("i've sent a password reset link to your email", "you can now log in with a temporary password",
                      "please check your email for the link to reset your password"),
    },
    "schedule_appointment": {
        "recap": ("your appointment is booked",),
        "question": ("what day works best for the appointment", "what would you like to discuss at the meeting"),
        "confirm": ("okay i have the calendar for the {branch} branch", "alright i can see open appointment times"),
        "problem": ("i'd like to schedule an appointment with a {advisor}", "can i make an appointment at the {branch} branch",
                    "i want to meet with a {advisor} next week", "i need to book a meeting about a loan"),
        "detail": ("{day} would work best for me", "sometime in the afternoon please", "is {day} at {time} available"),
        "help": ("schedule that appointment", "book a meeting with a {advisor}"),
        "procedure": ("you are booked with a {advisor} on {day} at {time}", "we have an opening on {day} at {time} at the {branch} branch",
                      "your appointment is set for {day} at {time}"),
    },
    "transfer_money": {
        "recap": ("your money transfer is done",),
        "question": ("how much would you like to transfer", "which account should the money go to"),
        "confirm": ("okay i see both of your accounts for the transfer", "alright i can move money between your accounts"),
        "problem": ("i want to transfer money from my {account} account", "can you move {amount} into my savings account",
                    "i need to make a transfer to my {account} account", "i'd like to send {amount} to my {account} account"),
        "detail": ("move {amount} please", "from checking to savings", "i want to transfer {amount} today"),
        "help": ("make that transfer", "move the money for you"),
        "procedure": ("the transfer of {amount} to your {account} account is complete", "i've moved {amount} from checking to savings",
                      "your transfer will show up in your {account} account by {day}"),
    },
}

# Cue phrases carry the sentiment; the annotators read them.
NEGATIVE_CUES = ("this is really frustrating", "i'm very upset about this", "honestly this is ridiculous",
                 "i've been waiting a long time", "unfortunately", "this is the second time this happened")
POSITIVE_CUES = ("that's great", "that's wonderful", "thank you so much", "i really appreciate it", "perfect", "awesome")


@dataclass(frozen=True)
class BankUtterance:
    """One turn of a call.

    Attributes
    ----------
    text : transcript in the corpus character set, possibly with a silent token at either end.
    spoken : what the synthesizer says (the transcript without silent tokens), never empty.
    events : silent tokens and where they sound: ``(("start", "[noise]"),)``.
    role : "agent" or "caller".
    task_type : one of :data:`TASK_TYPES`.
    dialog_acts : sorted subset of :data:`DIALOG_ACTS`.
    sentiment : (negative, neutral, positive) probabilities summing to 1.
    """

    text: str
    spoken: str
    events: tuple[tuple[str, str], ...]
    role: str
    task_type: str
    dialog_acts: tuple[str, ...]
    sentiment: tuple[float, float, float]


def sentiment_probabilities(text: str) -> np.ndarray:
    """What one annotator would vote for ``text``: shape (3,), (negative, neutral, positive).

    A function of the words only, which is what makes the label learnable.
    """
    negative = sum(cue in text for cue in NEGATIVE_CUES)
    positive = sum(cue in text for cue in POSITIVE_CUES)
    polite = text.count("thank") + text.count("please")
    logits = np.array([3.5 * negative, 3.0, 3.5 * positive + 0.8 * polite])
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


class BankingDialogs:
    """Random calls to the bank.

    Parameters
    ----------
    rng : the only source of randomness.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _fill(self, template: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self._pick(SLOTS[m.group(1)]), template)

    def _digits(self, count: int) -> str:
        return " ".join(self._pick(SLOTS["digit"]) for _ in range(count))

    def _turns(self, task: str, mood: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """The call as (role, [(phrase, dialog act), ...]) before labels are attached."""
        phrases = TASK_PHRASES[task]
        first, last = self._pick(SLOTS["name"]), self._pick(SLOTS["surname"])
        turns: list[tuple[str, list[tuple[str, str]]]] = [
            ("agent", [(f"hello thank you for calling harper valley bank this is {self._pick(SLOTS['agent'])}", "greeting"),
                       (self._pick(("how can i help you today", "what can i do for you", "how may i help you")), "open_question")]),
            ("caller", [(self._pick(("hi", "hello", "hey", "good morning")), "greeting"),
                        (self._fill(self._pick(phrases["problem"])), "problem_description")]),
            ("agent", [(self._pick(("sure", "okay", "of course", "alright")), "acknowledgement"),
                       (f"i can {self._fill(self._pick(phrases['help']))} for you", "statement_instruction"),
                       (self._pick(("may i have your name please", "can i get your full name", "what is your name")), "data_question")]),
            ("caller", [(self._pick((f"my name is {first} {last}", f"it's {first} {last}", f"{first} {last}")), "data_response")]),
            ("agent", [(self._pick(("thank you", "thanks")), "thanking"),
                       (self._pick(("and what is your account number", "can you tell me the last four digits of your account")), "data_question")]),
            ("caller", [(self._pick(("it's ", "", "sure it's ")) + self._digits(4), "data_response")]),
            ("agent", [(self._fill(self._pick(phrases["confirm"])), "data_confirmation"),
                       (self._fill(self._pick(phrases["question"])), "data_question")]),
            ("caller", [(self._fill(self._pick(phrases["detail"])), "data_communication")]),
            ("agent", [(self._fill(self._pick(phrases["procedure"])), "procedure_explanation")]),
            ("caller", [(self._pick(("okay", "yes", "alright", "got it", "okay thanks")), "acknowledgement")]),
            ("agent", [(self._pick(phrases["recap"]) if self.rng.random() < RECAP_PROB else "", "data_communication"),
                       (self._pick(("is there anything else i can help you with", "can i help you with anything else today")), "open_question")]),
            ("caller", [(self._pick(("no that's all", "no i think that's it", "nope")), "response_other"),
                        (self._pick(("thank you", "thanks for your help", "")), "thanking")]),
            ("agent", [(self._pick(("thank you for calling harper valley bank", "thanks for calling")), "thanking"),
                       (self._pick(("have a great day", "goodbye", "have a nice evening")), "closing")]),
        ]  # fmt: skip
        if self.rng.random() < SKIP_ACCOUNT_PROB:  # the caller's name was enough to find the account
            del turns[4:6]
        if self.rng.random() < 0.5:  # before acting, the agent asks to confirm; the caller says yes
            at = len(turns) - 5  # just before the agent explains the procedure
            turns.insert(at, ("caller", [(self._pick(("yes", "yes please", "yes that's right")), "yes_response")]))
            turns.insert(at, ("agent", [(self._pick(("does that sound good", "is that correct", "would you like me to go ahead")), "data_question")]))
        if mood != "neutral":  # an upset or happy caller colours some of their turns
            cues = NEGATIVE_CUES if mood == "negative" else POSITIVE_CUES
            for role, segments in turns:
                if role == "caller" and self.rng.random() < MOOD_CUE_PROB:
                    segments.append((self._pick(cues), "response_other" if mood == "negative" else "thanking"))
        return turns

    def _utterance(self, role: str, segments: list[tuple[str, str]], task: str) -> BankUtterance:
        segments = [(phrase, act) for phrase, act in segments if phrase]
        words = " ".join(phrase for phrase, _ in segments)
        if role == "caller" and self.rng.random() < FILLER_PROB:
            words = f"{self._pick(('um', 'uh'))} {words}"
        events: tuple[tuple[str, str], ...] = ()
        text = words
        if self.rng.random() < SILENT_TOKEN_PROB:
            where, token = self._pick(("start", "end")), self._pick(SILENT_TOKENS)
            events = ((where, token),)
            text = f"{token} {words}" if where == "start" else f"{words} {token}"
        votes = self.rng.multinomial(NUM_ANNOTATORS, sentiment_probabilities(words))  # (3,) counts
        sentiment = tuple(float(v) / NUM_ANNOTATORS for v in votes)
        acts = tuple(sorted({act for _, act in segments}))
        return BankUtterance(text, words, events, role, task, acts, sentiment)  # type: ignore[arg-type]

    def conversation(self) -> list[BankUtterance]:
        """One call of 11 to 15 utterances, the agent and the caller taking turns."""
        task = self._pick(TASK_TYPES)
        mood = MOODS[int(self.rng.choice(len(MOODS), p=MOOD_WEIGHTS))]
        return [self._utterance(role, segments, task) for role, segments in self._turns(task, mood)]
