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


def test_token_flags_anywhere(tmpdir_root):
    """`drover token` takes --data-dir before or after its subcommand, like `drover image`."""
    import os
    tok = drover("token", "create", "--data-dir", tmpdir_root, "bob").stdout.strip()
    assert len(tok) >= 32
    assert "bob" in drover("token", "list", "--data-dir", tmpdir_root).stdout
    assert "revoked 1 token" in drover("token", "--data-dir", tmpdir_root, "revoke", "bob").stdout
    assert os.path.exists(os.path.join(tmpdir_root, "tokens"))
    p = drover("token", "--bogus", check=False)
    assert p.returncode == 2 and "`--bogus`" in p.stderr


def test_bad_listen_address_leaves_no_data_dir(tmpdir_root):
    import os
    d = os.path.join(tmpdir_root, "data")
    for verb, addr in (("up", "nonsense"), ("server", "127.0.0.1:99999")):
        p = drover(verb, "--data-dir", d, "--listen", addr, check=False)
        assert p.returncode != 0 and f"listen address `{addr}`" in p.stderr, p.stderr
        assert not os.path.exists(d)
