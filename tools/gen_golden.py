#!/usr/bin/env python3
"""Writes the PyTorch goldens that tests/train/test_golden.cpp matches (the llm.c way).

A tiny model of trit's architecture is written here independently in PyTorch: BitLinear with the
straight-through estimator, RMSNorm, RoPE (rotate_half), causal GQA attention, gated FFN. For each
case it records the inputs, logits, loss, every parameter gradient, and the losses of 10 AdamW
steps (torch.optim.AdamW + clip_grad_norm_). Parameters come from an integer hash of their index in
trit's parameter buffer, so no weights need storing.

Run with Debian's torch:  /usr/bin/python3 tools/gen_golden.py tests/golden
File format: one line of JSON (config, arrays: name + count), then the arrays as little-endian f32.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

torch.set_num_threads(1)

BASE = dict(hidden_size=64, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=64, max_position_embeddings=16, hidden_act="silu",
            tie_word_embeddings=False, rms_norm_eps=1e-5, rope_theta=10000.0, trit_subln=False)
B, T = 2, 8
LR, WD, BETAS, EPS, CLIP, STEPS = 1e-2, 0.1, (0.9, 0.95), 1e-8, 1.0, 10

CASES = {
    "fp": dict(trit_precision="fp", trit_group_size="tensor", trit_act_bits="8"),
    "a8_tensor": dict(trit_precision="ternary", trit_group_size="tensor", trit_act_bits="8"),
    "a8_g64": dict(trit_precision="ternary", trit_group_size="64", trit_act_bits="8"),
    "wo_tensor": dict(trit_precision="ternary", trit_group_size="tensor", trit_act_bits="none"),
    "wo_g64": dict(trit_precision="ternary", trit_group_size="64", trit_act_bits="none"),
    "a8_row_subln_relu2_tied": dict(trit_precision="ternary", trit_group_size="row", trit_act_bits="8",
                                    trit_subln=True, hidden_act="relu2", tie_word_embeddings=True),
}


def hash_value(i):
    """Same integer arithmetic as tests/train/golden_io.h: uniform-ish in [-1, 1]."""
    h = (i * 2654435761 + 12345) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0x5BD1E995) & 0xFFFFFFFF
    h ^= h >> 15
    return ((h % 20001) - 10000) / 10000.0


def layout(c):
    """trit's parameter order (src/model/layout.h): (name, shape, kind)."""
    C, Fh, H, KV = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd, V = C // H, c["vocab_size"]
    out = [("model.embed_tokens.weight", (V, C), "embed")]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (C,), "norm"),
                (p + "self_attn.q_proj.weight", (H * hd, C), "bit"),
                (p + "self_attn.k_proj.weight", (KV * hd, C), "bit"),
                (p + "self_attn.v_proj.weight", (KV * hd, C), "bit")]
        if c["trit_subln"]:
            out.append((p + "self_attn.sub_norm.weight", (H * hd,), "norm"))
        out += [(p + "self_attn.o_proj.weight", (C, H * hd), "bit"),
                (p + "post_attention_layernorm.weight", (C,), "norm"),
                (p + "mlp.gate_proj.weight", (Fh, C), "bit"),
                (p + "mlp.up_proj.weight", (Fh, C), "bit")]
        if c["trit_subln"]:
            out.append((p + "mlp.sub_norm.weight", (Fh,), "norm"))
        out.append((p + "mlp.down_proj.weight", (C, Fh), "bit"))
    out.append(("model.norm.weight", (C,), "norm"))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, C), "head"))
    return out


def init_params(c):
    params, offset = {}, 0
    for name, shape, kind in layout(c):
        n = math.prod(shape)
        vals = [hash_value(offset + i) for i in range(n)]
        if kind == "norm":
            vals = [1.0 + 0.1 * v for v in vals]
        else:
            vals = [0.05 * v for v in vals]
        params[name] = torch.tensor(vals, dtype=torch.float64).to(torch.float32).reshape(shape).requires_grad_()
        offset += n
    return params


def weight_quant(w, group):
    out_f, in_f = w.shape
    if group == "tensor":
        g = w.abs().mean().clamp(min=1e-5)
        return (w / g).round().clamp(-1, 1) * g
    if group == "row":
        g = w.abs().mean(dim=1, keepdim=True).clamp(min=1e-5)
        return (w / g).round().clamp(-1, 1) * g
    k = int(group)
    wg = w.reshape(out_f, in_f // k, k)
    g = wg.abs().mean(dim=-1, keepdim=True).clamp(min=1e-5)
    return ((wg / g).round().clamp(-1, 1) * g).reshape(out_f, in_f)


def act_quant(x):
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127) / s


def bitlinear(x, w, c):
    if c["trit_precision"] == "fp":
        return F.linear(x, w)
    wq = w + (weight_quant(w, c["trit_group_size"]) - w).detach()  # STE
    if c["trit_act_bits"] == "8":
        x = x + (act_quant(x) - x).detach()  # STE
    return F.linear(x, wq)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):
    # x [B, T, nh, hd]; Hugging Face rotate_half convention
    hd = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.arange(x.shape[1], dtype=torch.float32)[:, None] * inv_freq[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def forward(P, c, tokens):
    C, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd, eps = C // H, c["rms_norm_eps"]
    Bn, Tn = tokens.shape
    x = P["model.embed_tokens.weight"][tokens]
    mask = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rmsnorm(x, P[p + "input_layernorm.weight"], eps)
        q = bitlinear(h, P[p + "self_attn.q_proj.weight"], c).view(Bn, Tn, H, hd)
        k = bitlinear(h, P[p + "self_attn.k_proj.weight"], c).view(Bn, Tn, KV, hd)
        v = bitlinear(h, P[p + "self_attn.v_proj.weight"], c).view(Bn, Tn, KV, hd)
        q, k = rope(q, c["rope_theta"]), rope(k, c["rope_theta"])
        rep = H // KV
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        att = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hd)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        a = torch.einsum("bhts,bshd->bthd", att, v).reshape(Bn, Tn, H * hd)
        if c["trit_subln"]:
            a = rmsnorm(a, P[p + "self_attn.sub_norm.weight"], eps)
        x = x + bitlinear(a, P[p + "self_attn.o_proj.weight"], c)
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], eps)
        g = bitlinear(h, P[p + "mlp.gate_proj.weight"], c)
        u = bitlinear(h, P[p + "mlp.up_proj.weight"], c)
        g = F.silu(g) if c["hidden_act"] == "silu" else F.relu(g).pow(2)
        m = g * u
        if c["trit_subln"]:
            m = rmsnorm(m, P[p + "mlp.sub_norm.weight"], eps)
        x = x + bitlinear(m, P[p + "mlp.down_proj.weight"], c)
    x = rmsnorm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if c["tie_word_embeddings"] else P["lm_head.weight"]
    return F.linear(x, head)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/golden"
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for case, over in CASES.items():
        c = dict(BASE)
        c.update(over)
        V = c["vocab_size"]
        tokens = torch.randint(0, V, (B, T + 1), generator=gen)
        inp, tgt = tokens[:, :-1], tokens[:, 1:]
        P = init_params(c)
        logits = forward(P, c, inp)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
        loss.backward()
        arrays = [("inputs", inp.reshape(-1).float()), ("targets", tgt.reshape(-1).float()),
                  ("logits", logits.detach().reshape(-1)), ("loss", loss.detach().reshape(1))]
        names = [n for n, _, _ in layout(c)]
        arrays += [("grad:" + n, P[n].grad.detach().reshape(-1)) for n in names]
        # 10 AdamW steps on the same batch; weight decay on matrices only (as trit).
        for n in names:
            P[n].grad = None
        decay = [P[n] for n, s, k in layout(c) if k != "norm"]
        no_decay = [P[n] for n, s, k in layout(c) if k == "norm"]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=LR, betas=BETAS, eps=EPS)
        losses = []
        for _ in range(STEPS):
            opt.zero_grad()
            l = F.cross_entropy(forward(P, c, inp).reshape(-1, V), tgt.reshape(-1))
            l.backward()
            torch.nn.utils.clip_grad_norm_([P[n] for n in names], CLIP)
            opt.step()
            losses.append(l.item())
        arrays.append(("adamw_losses", torch.tensor(losses, dtype=torch.float32)))
        header = dict(config=c, batch=B, seq=T, lr=LR, weight_decay=WD, betas=BETAS, eps=EPS, clip=CLIP,
                      steps=STEPS, arrays=[[n, a.numel()] for n, a in arrays])
        path = os.path.join(out_dir, case + ".bin")
        with open(path, "wb") as f:
            f.write((json.dumps(header) + "\n").encode())
            for _, a in arrays:
                f.write(a.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes())
        print(f"{path}: loss {loss.item():.6f}, final AdamW loss {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
