"""README keeps exactly two set-up commands, and CI runs the same test command."""

import re

from conftest import PROJECT


def _setup_commands() -> list[str]:
    text = (PROJECT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands), "each set-up command is one line"
    run, test = commands
    assert "dcplan run" in run and "pip install ." in run
    assert "pytest" in test


def test_ci_runs_readmes_test_command():
    ci = (PROJECT / ".ci" / "run").read_text()
    match = re.search(r"^TEST_COMMAND='(.*)'$", ci, flags=re.M)
    assert match, ".ci/run must define TEST_COMMAND"
    assert match.group(1) == _setup_commands()[1]


def test_readme_main_study_is_shipped():
    run = _setup_commands()[0]
    name = re.search(r"dcplan run (\S+)", run).group(1)
    assert (PROJECT / "models" / f"{name}.yaml").is_file() or (PROJECT / name).is_file()
