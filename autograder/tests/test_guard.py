"""The audit hook's read rule: hidden folders stay hidden, kept folders inside them stay readable."""
import subprocess
import sys
import textwrap


def test_kept_paths_inside_a_hidden_folder_are_readable(tmp_path):
    course = tmp_path / "course"
    for rel in ("venv/lib/mod.py", "venv/secret_tasks/ctc.py", "solutions/ctc.ipynb"):
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        (course / rel).write_text("x")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = textwrap.dedent(f"""
        from asrlab_grade import guard
        guard.install_audit_hook({str(scratch)!r}, [{str(course)!r}, {str(course / 'venv/secret_tasks')!r}],
                                 lambda name: None, keep=[{str(course / 'venv')!r}])
        def can_read(path):
            try:
                open(path).close()
                return True
            except PermissionError:
                return False
        print(can_read({str(course / 'venv/lib/mod.py')!r}),
              can_read({str(course / 'solutions/ctc.ipynb')!r}),
              can_read({str(course / 'venv/secret_tasks/ctc.py')!r}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False", "False"]
