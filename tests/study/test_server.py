"""The real server (uvicorn, its own process): 20 concurrent raters, the command line's warnings and token link."""
import urllib.request
from collections import Counter

from vidpred.cli import main
from vidpred.study.loadtest import run_load
from vidpred.study.store import StudyStore


def test_twenty_concurrent_raters_submit_500_judgements_none_lost_or_doubled(tmp_path, serve):
    pairs = [{"clip_id": f"{i:05d}", "sample": 0, "context": f"{i:016x}", "a": f"{100 + i:016x}",
              "b": f"{200 + i:016x}"} for i in range(25)]
    store = StudyStore.create(tmp_path, {"a": "A", "b": "B", "protocol": "p"}, pairs)
    server = serve(tmp_path)
    result = run_load("127.0.0.1", server.port, raters=20, judgements=500, double_every=10)
    assert result.errors == []
    assert len(result.acknowledged) == 500 == len(set(result.acknowledged))
    judgements = store.judgements()
    assert len(judgements) == 500
    assert {(j["rater"], j["pair"]) for j in judgements} == set(result.acknowledged)
    assert result.duplicates_sent == 20 * (25 // 10)  # each rater repeated 2 of its 25 answers; none counted
    assert set(Counter(j["pair"] for j in judgements).values()) == {20}  # 20 raters x 25 pairs: every pair 20 times


def test_serve_warns_when_the_study_is_reachable_from_the_network(tmp_path, monkeypatch, capsys):
    StudyStore.create(tmp_path, {"a": "A", "b": "B", "protocol": "p"}, [])
    served = []
    monkeypatch.setattr("vidpred.study.app.serve", lambda *args: served.append(args))
    assert main(["study", "serve", str(tmp_path), "--host", "0.0.0.0", "--port", "8123"]) == 0
    captured = capsys.readouterr()
    assert "warning: the study is reachable from the network on 0.0.0.0:8123" in captured.err
    assert "use --token" in captured.err
    assert main(["study", "serve", str(tmp_path), "--token", "abcdefgh12"]) == 0
    captured = capsys.readouterr()
    assert "http://127.0.0.1:8000/?token=abcdefgh12" in captured.out and captured.err == ""
    assert [args[1:] for args in served] == [("0.0.0.0", 8123, None), ("127.0.0.1", 8000, "abcdefgh12")]
    assert main(["study", "serve", str(tmp_path), "--token", "short"]) == 2
    assert main(["study", "serve", str(tmp_path / "nowhere")]) == 2
    assert "not a study folder" in capsys.readouterr().err


def test_the_servers_log_never_holds_the_studys_token(tmp_path, serve):
    StudyStore.create(tmp_path, {"a": "A", "b": "B", "protocol": "p"}, [])
    server = serve(tmp_path, token="s3cret-token-42")  # starting it already requested /?token=...
    with urllib.request.urlopen(f"{server.url}/api/raters/r-1/next?token=s3cret-token-42&x=1", timeout=10):
        pass
    server.stop()
    log = open(server.log.name).read()
    assert "GET /?token=<hidden> HTTP/1.1" in log and "next?token=<hidden>&x=1" in log
    # the one line that holds it is the link printed for whoever started the server
    assert [line.split(" in ")[0] for line in log.splitlines() if "s3cret-token-42" in line] == ["serving the study"]
