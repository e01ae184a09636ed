from vidpred.progress import track


def test_progress_lines_when_not_a_terminal(capsys):
    assert list(track(range(20), "counting")) == list(range(20))
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 10  # one line per 10%
    assert lines[0].startswith("counting: 2/20 (10%)") and lines[-1].startswith("counting: 20/20 (100%)")
