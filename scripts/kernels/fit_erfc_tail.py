"""Coefficients of assembly/erf_f32.ts's erfc tail: erfc(z) = S(u)·exp(−z²) for z in [½, 10].

S(u) ≈ erfc(z)·e^(z²) is a degree-9 polynomial in u = (α + β·z)/(1 + z/2), the map that sends
z = ½ to u = 1 and z = 10 to u = −1 with α, β rounded to f32 (the fit uses those exact f32
values, so the kernel's map has no systematic error). Least squares with relative weights on 500
Chebyshev-spaced points, in 40-digit arithmetic, the coefficients rounded to f32 one at a time;
prints α, β, the coefficients C0..C9 as the kernel writes them, and the largest relative error of
S with them on a fine grid.

Run: .venv/bin/python scripts/kernels/fit_erfc_tail.py   (needs mpmath: pip install mpmath)
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
DEG, N = 9, 500
Z_LO, Z_HI = mp.mpf('0.5'), mp.mpf(10)
# u = A·t + B with t = 1/(1 + z/2) ∈ [1/6, 0.8] mapped onto [−1, 1], written as one fraction.
T_LO, T_HI = 1 / (1 + Z_HI / 2), 1 / (1 + Z_LO / 2)
A = 2 / (T_HI - T_LO)
B = -1 - 2 * T_LO / (T_HI - T_LO)
ALPHA, BETA = np.float32(float(A + B)), np.float32(float(B / 2))


def u_of(z):
    return (mp.mpf(float(ALPHA)) + mp.mpf(float(BETA)) * z) / (1 + z / 2)


def target(z):
    return mp.erfc(z) * mp.exp(z * z)


zs = [Z_LO + (Z_HI - Z_LO) * (1 - mp.cos(mp.pi * (k + mp.mpf('0.5')) / N)) / 2 for k in range(N)]
us = [u_of(z) for z in zs]
ys = [target(z) for z in zs]


def refit(fixed):
    """Least-squares coefficients j ≥ len(fixed), with the lower ones fixed (already f32)."""
    free = DEG + 1 - len(fixed)
    M = mp.matrix(N, free)
    rhs = mp.matrix(N, 1)
    for i in range(N):
        known = sum(mp.mpf(float(fixed[j])) * us[i] ** j for j in range(len(fixed)))
        for j in range(free):
            M[i, j] = us[i] ** (len(fixed) + j) / ys[i]
        rhs[i] = 1 - known / ys[i]
    return mp.lu_solve(M.T * M, M.T * rhs)


# Each coefficient rounded to f32 in turn, from the constant term up, the higher ones refitted
# to absorb its rounding (rounding them all at once costs ~100× the fit's error where S is small).
c32 = []
while len(c32) <= DEG:
    c32.append(np.float32(float(refit(c32)[0])))

worst = mp.mpf(0)
for k in range(2001):
    z = Z_LO + (Z_HI - Z_LO) * k / 2000
    u = u_of(z)
    s = sum(mp.mpf(float(c32[j])) * u**j for j in range(DEG + 1))
    worst = max(worst, abs(s / target(z) - 1))

print(f'const ALPHA: f32 = {float(ALPHA)!r}, BETA: f32 = {float(BETA)!r};')
print(', '.join(f'C{j}: f32 = {float(c)!r}' for j, c in enumerate(c32)))
print(f'largest relative error of S with the f32 coefficients: {float(worst):.2e}')
