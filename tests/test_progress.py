from vidpred.progress import track


def test_progress_lines_when_not_a_terminal(capsys):
    assert list(track(range(20), "counting")) == list(range(20))
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 10  # one line per 10%
    assert lines[0].startswith("counting: 2/20 (10%)") and lines[-1].startswith("counting: 20/20 (100%)")


def test_training_log_lines_come_once_per_optimizer_step_under_gradient_accumulation(capsys):
    """With accumulation several batches end at one optimizer step; the log gets one line for it, not one per
    batch, and the next line comes ``every`` steps later."""
    from types import SimpleNamespace

    from vidpred.training.callbacks import LogLines

    lines = LogLines(every=10)
    trainer = SimpleNamespace(is_global_zero=True, max_steps=100, callback_metrics={}, global_step=0)
    for batch in range(4 * 25):  # 4 batches per optimizer step
        trainer.global_step = batch // 4
        lines.on_train_batch_end(trainer, None, None, None, batch)
    printed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    assert [line.split("/")[0] for line in printed] == ["step 0", "step 10", "step 20"]
