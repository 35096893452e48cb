"""The notebook's runtime: the installed library's version, the device and the training budget.

Every course notebook starts with a setup cell that installs ``asrlab`` with pip when the course's version is
not importable yet, then calls :func:`setup`::

    import asrlab
    DEVICE = asrlab.setup("0.1.0", gpu="training")   # "cuda" or "cpu"

:func:`setup` checks that the imported library is the version the notebook was released for (an older copy
imported before the install needs a runtime restart), prints one line with the library, torch, the device
and the budget, and says when a GPU runtime would help.
"""
from __future__ import annotations

from asrlab.errors import SettingError

# How much an assignment needs a GPU: "none" (small arrays only), "helps" (some training) or "training".
GPU_NEEDS = ("none", "helps", "training")
COLAB_GPU_HINT = "on Colab: Runtime > Change runtime type > T4 GPU"


def check_version(wanted: str, installed: str) -> None:
    """Raise :class:`SettingError` unless ``installed`` is the version the notebook was released for."""
    if installed != wanted:
        raise SettingError(f"this notebook needs asrlab {wanted}, but asrlab {installed} is imported: restart "
                           "the runtime (Colab: Runtime > Restart session) and run the setup cell again")


def device_summary(gpu: str, budget: str, cuda_name: str | None) -> str:
    """The one-line report of :func:`setup` (without the versions), with advice when a GPU is missing."""
    if gpu not in GPU_NEEDS:
        raise ValueError(f"gpu must be one of {GPU_NEEDS}, got {gpu!r}")
    line = f"device: {'cuda (' + cuda_name + ')' if cuda_name else 'cpu'}, budget: {budget}"
    if cuda_name or gpu == "none":
        return line + ("" if cuda_name else " (no GPU needed for this assignment)")
    if budget == "ci":
        return line + " (short CPU runs)"
    if gpu == "training":
        return line + f". Training on a CPU takes hours: switch to a GPU runtime ({COLAB_GPU_HINT})"
    return line + f". The training parts are faster on a GPU ({COLAB_GPU_HINT})"


def setup(version: str, gpu: str = "helps") -> str:
    """Check the installed library, print the runtime in one line and return the device.

    Parameters
    ----------
    version : the asrlab version the notebook was released for (its setup cell installs it).
    gpu : how much the assignment needs a GPU: ``"none"``, ``"helps"`` or ``"training"``.

    Returns
    -------
    str : ``"cuda"`` when a GPU is available, else ``"cpu"``.
    """
    import torch

    import asrlab
    from asrlab import course

    check_version(version, asrlab.__version__)
    cuda_name = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    print(f"asrlab {asrlab.__version__}, torch {torch.__version__}, "
          + device_summary(gpu, course.budget(), cuda_name))
    return "cuda" if cuda_name else "cpu"
