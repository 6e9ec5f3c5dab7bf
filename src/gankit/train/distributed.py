"""torch.distributed under torchrun: process group set-up, gradient averaging, buffer sync.

GAN steps run several forwards per backward with one player frozen, which DistributedDataParallel's
reducer does not expect; so, like DDP, gradients are averaged with one coalesced all-reduce per
player after its backward, and buffers (BatchNorm statistics) are broadcast from rank 0.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from ..errors import GankitError


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise GankitError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GankitError(f"device '{name}' requested but CUDA is not available; use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise GankitError(f"device '{name}' requested but MPS is not available; use --device cpu")
    return dev


def init_from_env(device_name: str) -> tuple[DistInfo, torch.device]:
    """Join the process group torchrun describes (WORLD_SIZE > 1); otherwise run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), pick_device(device_name)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_name, local)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local), device


def average_gradients(params: list[torch.nn.Parameter], world: int) -> None:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= world
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def broadcast_state(modules, src: int = 0, params: bool = True) -> None:
    """Make every rank hold rank ``src``'s buffers (and parameters)."""
    for m in modules:
        tensors = list(m.buffers()) + (list(m.parameters()) if params else [])
        for t in tensors:
            dist.broadcast(t.data, src)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    """Leave the group together: a rank that tears down its gloo pairs while a peer still uses
    them can make that peer abort (SIGABRT) on the closed connection."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def max_rank_difference(modules) -> float:
    """Largest difference of any parameter or buffer between ranks (0.0 when all ranks agree)."""
    flat = torch.cat([t.detach().float().flatten() for m in modules for t in list(m.parameters()) + list(m.buffers())])
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    return float((hi - lo).abs().max())
