"""
The `tiny-cpu` track's training script: a small byte-level GPT on the Brown Corpus, sized
for a plain CPU (hundreds to thousands of steps in a 20 s budget on one core).
This is the file experiments edit. Runs on CPU with torch >= 1.13 (CUDA and MPS work too).
Output follows upstream autoresearch: carriage-return progress, then `---` and a summary.

The budget: on CPU it is compute (`compute_budget()` in prepare.py, 6·N·D FLOPs), not time,
so a busy or slow machine stretches a run without changing its training: replicates of one
seed are identical, and of different seeds differ only by the seed. On a GPU it is the wall
clock, as upstream.
"""
import os

THREADS = 1  # fixed: one compute thread; more threads spend CPU time in spin-waits, not work
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)  # before torch loads its BLAS, which reads these once

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from prepare import (  # noqa: E402
    SEQ_LEN,
    TIME_BUDGET,
    VOCAB_SIZE,
    compute_budget,
    evaluate_bpb,
    load_split,
    step_flops,
)

# ---- hyperparameters (experiments change these) ----
DEPTH = 1
N_EMBD = 64
N_HEAD = 2
MLP_RATIO = 4
TRAIN_SEQ_LEN = 128
BATCH_SIZE = 16
LEARNING_RATE = 0.003
WEIGHT_DECAY = 0.1
BETA1 = 0.9
BETA2 = 0.95
WARMUP_FRACTION = 0.05
FINAL_LR_FRACTION = 0.1
GRAD_CLIP = 1.0
DROPOUT = 0.0
UNTIMED_STEPS = 3  # fixed: on a GPU, first steps are not counted against the budget (warm-up, like upstream)


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(N_EMBD, 3 * N_EMBD, bias=False)
        self.proj = nn.Linear(N_EMBD, N_EMBD, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(N_EMBD, dim=2)
        q = q.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2)
        k = k.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2)
        v = v.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // N_HEAD)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = F.dropout(att, DROPOUT, self.training)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(N_EMBD)
        self.attn = CausalSelfAttention()
        self.ln2 = nn.LayerNorm(N_EMBD)
        self.mlp = nn.Sequential(
            nn.Linear(N_EMBD, MLP_RATIO * N_EMBD, bias=False),
            nn.GELU(),
            nn.Linear(MLP_RATIO * N_EMBD, N_EMBD, bias=False),
        )

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB_SIZE, N_EMBD)
        self.pos = nn.Embedding(SEQ_LEN, N_EMBD)
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.ln_f = nn.LayerNorm(N_EMBD)
        self.head = nn.Linear(N_EMBD, VOCAB_SIZE, bias=False)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx):
        t = idx.shape[1]
        pos = torch.arange(t, device=idx.device)
        x = self.tok(idx) + self.pos(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def pick_device():
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def main():
    t_start = time.time()
    seed = int(os.environ.get("RATCHET_SEED", "42"))
    torch.manual_seed(seed)  # the initialisation
    device = pick_device()
    torch.set_num_threads(THREADS)
    # The budget (see the module docstring): compute on CPU, wall seconds elsewhere.
    by_compute = device.type == "cpu"
    train = torch.tensor(bytearray(load_split("train")), dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)  # the data order

    model = GPT().to(device)
    num_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=LEARNING_RATE,
        betas=(BETA1, BETA2),
    )

    def lr_at(progress):
        if progress < WARMUP_FRACTION:
            return LEARNING_RATE * progress / WARMUP_FRACTION
        p = (progress - WARMUP_FRACTION) / max(1e-9, 1 - WARMUP_FRACTION)
        return LEARNING_RATE * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * p)))

    budget_flops = compute_budget()
    flops_per_step = step_flops(model, BATCH_SIZE * TRAIN_SEQ_LEN)
    step = 0
    trained_s = 0.0
    wall_s = 0.0
    flops = 0.0
    tokens = 0

    def done():
        return flops / budget_flops if by_compute else trained_s / TIME_BUDGET

    while True:
        t0 = time.process_time() if by_compute else time.time()
        w0 = time.time()
        progress = min(1.0, done())
        for g in opt.param_groups:
            g["lr"] = lr_at(progress)
        ix = torch.randint(len(train) - TRAIN_SEQ_LEN - 1, (BATCH_SIZE,), generator=gen)
        x = torch.stack([train[i : i + TRAIN_SEQ_LEN] for i in ix]).to(device)
        y = torch.stack([train[i + 1 : i + 1 + TRAIN_SEQ_LEN] for i in ix]).to(device)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if GRAD_CLIP > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        loss_v = loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if by_compute or step >= UNTIMED_STEPS:
            trained_s += (time.process_time() if by_compute else time.time()) - t0
            wall_s += time.time() - w0
        flops += flops_per_step
        tokens += BATCH_SIZE * TRAIN_SEQ_LEN
        step += 1
        pct = 100.0 * min(1.0, done())
        # Seconds left: of the wall budget, or at this run's pace through its compute.
        remaining = max(0.0, (1 - done()) * trained_s / done()) if by_compute else max(0.0, TIME_BUDGET - trained_s)
        print(f"\rstep {step:05d} ({pct:.1f}%) | loss: {loss_v:.6f} | lr: {lr_at(progress):.2e} | remaining: {remaining:.0f}s    ", end="", flush=True)
        if not math.isfinite(loss_v) or loss_v > 100:
            print("FAIL")
            sys.exit(1)
        if done() >= 1.0:
            break
    print()

    val_bpb = evaluate_bpb(model, device)
    peak_vram_mb = torch.cuda.max_memory_allocated() / 1024 / 1024 if device.type == "cuda" else 0.0
    print("---")
    print(f"val_bpb:          {val_bpb:.6f}")
    print(f"training_seconds: {trained_s:.1f}")
    print(f"total_seconds:    {time.time() - t_start:.1f}")
    print(f"peak_vram_mb:     {peak_vram_mb:.1f}")
    print("mfu_percent:      n/a")
    print(f"total_tokens_M:   {tokens / 1e6:.3f}")
    print(f"num_steps:        {step}")
    print(f"num_params_M:     {num_params / 1e6:.3f}")
    print(f"depth:            {DEPTH}")
    print(f"device:           {device.type}")
    print(f"budget_clock:     {'compute' if by_compute else 'wall'}")
    print(f"training_wall_seconds: {wall_s:.1f}")


if __name__ == "__main__":
    main()
