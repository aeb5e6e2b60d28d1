#!/usr/bin/env python3
"""The PyTorch side of the training-speed comparison: the same model as trit (tools/gen_golden.py's
independent PyTorch implementation: BitLinear with STE, RMSNorm, RoPE, causal attention, SwiGLU),
trained with AdamW on random tokens, timed per step.

  /usr/bin/python3 bench/pytorch_train.py --preset small --batch 8 --seq 256 --threads 2 [--precision fp]
compare:  build/trit bench train --preset small --batch 8 --seq 256 --threads 2
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gen_golden as G  # noqa: E402

PRESETS = {
    "nano": dict(hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=1024),
    "micro": dict(hidden_size=256, intermediate_size=768, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=4, vocab_size=8192),
    "small": dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=8, vocab_size=8192),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="ternary", choices=["ternary", "fp"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = dict(G.BASE)
    c.update(PRESETS[a.preset])
    c.update(max_position_embeddings=a.seq, trit_precision=a.precision, trit_group_size="tensor",
             trit_act_bits="8")
    params = {}
    for name, shape, kind in G.layout(c):
        t = torch.ones(shape) if kind == "norm" else torch.randn(shape) * 0.02
        params[name] = t.requires_grad_()
    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    V = c["vocab_size"]
    tokens = torch.randint(0, V, (a.batch, a.seq + 1))
    times = []
    for step in range(a.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits = G.forward(params, c, tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        if step > 0:
            times.append(time.perf_counter() - t0)
    step_s = sum(times) / len(times)
    n = sum(p.numel() for p in params.values())
    print(f"pytorch {torch.__version__}: {a.preset} {a.precision}, {n / 1e6:.2f}M params, batch {a.batch} x seq "
          f"{a.seq}, {a.threads} threads: {step_s:.3f} s/step, {a.batch * a.seq / step_s:.0f} tokens/s")


if __name__ == "__main__":
    main()
