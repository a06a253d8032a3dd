from conftest import drover


def test_version_prints_release():
    p = drover("version")
    assert p.stdout.startswith("drover ")


def test_unknown_command_is_named():
    p = drover("frobnicate", check=False)
    assert p.returncode == 2
    assert "unknown command `frobnicate`" in p.stderr


def test_help_lists_commands():
    p = drover("help")
    assert "version" in p.stdout
    assert "kubectl" in p.stdout
