"""DDP: two gloo processes train a couple of one-shot iterations together and end with the same weights."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from faceforge.training.distributed import init_distributed, shutdown

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, port: int, dataset: str, out: str) -> None:
    from oneshot_settings import tiny_config

    from faceforge.training.oneshot.trainer import OneshotTrainer

    env = {"RANK": str(rank), "WORLD_SIZE": str(WORLD), "LOCAL_RANK": str(rank),
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}  # fmt: skip
    torch.set_num_threads(1)
    ctx = init_distributed(env)
    try:
        # Every loss term, the discriminator and discr_force (a decision all ranks must share) take part.
        config = tiny_config(iterations=2, save_every=2, discr_force=True)
        trainer = OneshotTrainer(config, Path(dataset), Path(out) / "model", device="cpu", ctx=ctx,
                                 tensorboard=False)  # fmt: skip
        trainer.adv_ema = 0.0  # let D step from the first iteration
        report = trainer.run()
        parameters = {
            **{f"G.{k}": v for k, v in trainer.generator.named_parameters()},
            **{f"D.{k}": v for k, v in trainer.discriminator.named_parameters()},
        }
        torch.save({"parameters": parameters, "losses": report.last_losses}, Path(out) / f"rank{rank}.pt")
    finally:
        shutdown(ctx)


@pytest.mark.slow
def test_two_gloo_ranks_train_together_and_agree_on_the_weights(oneshot_dataset, tmp_path):
    mp.start_processes(_rank, args=(_free_port(), str(oneshot_dataset), str(tmp_path)), nprocs=WORLD,
                       join=True, start_method="spawn")  # fmt: skip
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    first, second = (r["parameters"] for r in ranks)
    assert first.keys() == second.keys() and len(first) > 50
    for name, value in first.items():
        assert torch.equal(value, second[name]), name
    assert "d" in ranks[0]["losses"] and ranks[0]["losses"].keys() == ranks[1]["losses"].keys()
    from faceforge.training.checkpoint import CheckpointStore

    store = CheckpointStore(tmp_path / "model")
    assert store.read_index().saves[store.read_index().latest].iteration == 2  # rank 0 saved
    weights, state = store.load()
    for name, value in first.items():
        assert torch.equal(weights[name], value), name
    assert state["iteration"] == 2
