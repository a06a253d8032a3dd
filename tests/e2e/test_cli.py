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


def test_up_refuses_bad_flags_before_starting(tmpdir_root):
    """Every flag of `drover up`, the local agent's too, is checked before the server starts:
    the error names the flag as typed, and no data dir is left behind."""
    import os
    d = os.path.join(tmpdir_root, "data")
    cases = (
        (("--service-cluster-ip-range", "bogus"), "--service-cluster-ip-range"),
        (("--bridge", "abcdefghijklmnop"), "--bridge `abcdefghijklmnop`: a link name has 1 to 15 characters"),
        (("--eviction-hard", "foo"), "--eviction-hard `foo`"),
        (("--node-name", "Bad_Name"), "--node-name `Bad_Name`"),
        (("--agent-listen", "127.0.0.1:99999"), "--listen `127.0.0.1:99999`"),
    )
    for args, msg in cases:
        p = drover("up", "--data-dir", d, "--listen", "127.0.0.1:0", *args, check=False, timeout=30)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
        assert "--service-cidr" not in p.stderr
        assert "serving on" not in p.stderr, (args, p.stderr)
        assert not os.path.exists(d), args
