"""Hidden inputs of the grading tasks, one module per assignment (``cases/<assignment>.py``).

Each module draws the ``cases(rng)`` of its assignment's function tasks (``rng`` is seeded from the
run's secret) and holds the trusted references that are more than one library call
(:func:`asrlab_grade.task.library` declares those). Primitives that several assignments use (log-softmax
over numpy, padded batches) are in :mod:`asrlab_grade.cases.common`. Like ``tasks/``, this folder is
instructor-only: a sandbox sees it empty (:func:`asrlab_grade.bwrap.covered_dirs`).
"""
