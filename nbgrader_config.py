"""nbgrader configuration of the asrlab course (this repository is the course folder).

Layout:
    solutions/<assignment>/<assignment>.ipynb    source notebooks (solutions + hidden tests)
    assignments/<assignment>/<assignment>.ipynb  released notebooks, committed for Colab
    submitted/<student>/<assignment>/            collected submissions (not committed)

    nbgrader generate_assignment NAME   # solutions/NAME -> assignments/NAME
    nbgrader autograde NAME             # the baseline path; asrlab-grade autograde is the hardened one
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "asrlab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"your code goes here: replace this line (see the task above)\")"
}
# Released notebooks are committed: keep them free of outputs and execution counts.
c.ClearOutput.enabled = True
