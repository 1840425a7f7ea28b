"""2-D convolutions whose gradients stay in the layout XLA's CPU backend runs fast.

``conv_general_dilated`` is a drop-in for ``lax.conv_general_dilated`` (``nn.Conv``'s
``conv_general_dilated`` field) for NHWC inputs and HWIO kernels: the same forward convolution, and a
``jax.custom_vjp`` whose two gradients are themselves NHWC/HWIO convolutions, with explicit
transposes and a ``jnp.flip`` where autodiff would use swapped dimension labels and a window reversal.

Why: XLA's CPU backend runs a convolution with its fast library kernels only in that canonical form
(no window reversal); any other becomes a naive elemental loop. Its pass that inserts the transposes
(xla/service/cpu/conv_canonicalization.cc) visits only the entry computation, so inside the
``lax.scan`` of fused steps every autodiff convolution stayed naive, and even outside it the kernel
gradient of a transposed convolution (a window reversal) did: a DCGAN-28 step took ~1.9 s in a scan
and ~0.4 s alone, half of it in one such loop; now ~0.2 s either way (BENCHMARKS.md).

The math, per spatial dimension (input length H, kernel K, stride s, input dilation d, padding
(p, q), output length O; x~ the input dilated by d and padded):
  y[o]      = sum_k x~[o s + k] w[k]
  dL/dx[i]  = sum_k (dy dilated by s, padded (K-1-p, .))[i d + k] w[K-1-k]   (strides d)
  dL/dw[k]  = sum_o x~[o s + k] dy[o]                  (a convolution over the batch, kernel dilation s)
"""

import jax
import jax.numpy as jnp
from jax import lax

_NHWC = ("NHWC", "HWIO", "NHWC")


def _canonical(lhs, rhs, strides, padding, lhs_dilation=(1, 1), rhs_dilation=(1, 1), precision=None):
    return lax.conv_general_dilated(
        lhs,
        rhs,
        strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=_NHWC,
        precision=precision,
    )


def _explicit_padding(padding, in_sizes, kernel_sizes, strides, lhs_dilation):
    """((lo, hi), ...) for a padding string or pairs, on the dilated input."""
    if not isinstance(padding, str):
        return tuple((int(lo), int(hi)) for lo, hi in padding)
    dilated = [(n - 1) * d + 1 for n, d in zip(in_sizes, lhs_dilation, strict=True)]
    return tuple(lax.padtype_to_pads(dilated, kernel_sizes, strides, padding))


def _input_gradient(dy, w, in_sizes, strides, padding, lhs_dilation, precision):
    """dL/dx: dy dilated by s, padded (K-1-p, .), windows strided by d, the kernel flipped and its
    in/out swapped; the high padding makes exactly H windows."""
    pads = []
    for n, k, o, s, d, (lo, _) in zip(
        in_sizes, w.shape[:2], dy.shape[1:3], strides, lhs_dilation, padding, strict=True
    ):
        pads.append((k - 1 - lo, (n - 1) * d + k - (o - 1) * s - 1 - (k - 1 - lo)))
    w_flipped = jnp.flip(w, (0, 1)).transpose(0, 1, 3, 2)  # [K, K, out, in]
    return _canonical(dy, w_flipped, lhs_dilation, pads, lhs_dilation=strides, precision=precision)


def _kernel_gradient(x, dy, kernel_sizes, strides, padding, lhs_dilation, precision):
    """dL/dw, the batch as the contracted dimension (a convolution's 'features')."""
    sizes = list(zip(x.shape[1:3], kernel_sizes, dy.shape[1:3], strides, lhs_dilation, padding, strict=True))
    if strides == (1, 1) and lhs_dilation != (1, 1):
        # A transposed convolution: x~ (dilated) as the input would make dy a larger 'kernel' than the
        # input, which XLA swaps back into a reversed, non-canonical convolution. So dy is the input,
        # x the kernel: dw[K-1-k] = sum_i dy~[k + i d] x[i], dy~ = dy padded (K-1-p, .), K windows.
        pads = [(k - 1 - lo, (n - 1) * d + k - o - (k - 1 - lo)) for n, k, o, _, d, (lo, _) in sizes]
        dy_t = lax.pad(
            dy.transpose(3, 1, 2, 0), jnp.zeros((), dy.dtype), [(0, 0, 0), *_interior0(pads), (0, 0, 0)]
        )
        dw = _canonical(
            dy_t, x.transpose(1, 2, 0, 3), (1, 1), "VALID", rhs_dilation=lhs_dilation, precision=precision
        )
        return jnp.flip(dw, (1, 2)).transpose(1, 2, 3, 0)  # [out, K, K, in] -> [K, K, in, out]
    # dw[k] = sum_o x~[o s + k] dy[o]: x as [in, H, W, batch], dy as the kernel [Ho, Wo, batch, out]
    # dilated by s; the high padding makes exactly K windows
    pads = [(lo, k + (o - 1) * s - (n - 1) * d - 1 - lo) for n, k, o, s, d, (lo, _) in sizes]
    dw = _canonical(
        x.transpose(3, 1, 2, 0),
        dy.transpose(1, 2, 0, 3),
        (1, 1),
        pads,
        lhs_dilation=lhs_dilation,
        rhs_dilation=strides,
        precision=precision,
    )
    return dw.transpose(1, 2, 0, 3)  # [in, K, K, out] -> [K, K, in, out]


def _interior0(pads):
    """(lo, hi) pairs as ``lax.pad``'s (lo, hi, interior) triples."""
    return [(lo, hi, 0) for lo, hi in pads]


def _make_conv(strides, padding, lhs_dilation, precision):
    """The custom-gradient convolution for one set of static arguments (explicit padding)."""

    @jax.custom_vjp
    def conv(x, w):
        return _canonical(x, w, strides, padding, lhs_dilation, precision=precision)

    def fwd(x, w):
        return conv(x, w), (x, w)

    def bwd(residuals, dy):
        x, w = residuals
        dx = _input_gradient(dy, w, x.shape[1:3], strides, padding, lhs_dilation, precision)
        dw = _kernel_gradient(x, dy, w.shape[:2], strides, padding, lhs_dilation, precision)
        return dx.astype(x.dtype), dw.astype(w.dtype)

    conv.defvjp(fwd, bwd)
    return conv


def transpose_same_padding(kernel: int, stride: int) -> tuple[int, int]:
    """The padding of ``lax.conv_transpose(..., padding='SAME')`` (flax's ``nn.ConvTranspose``) along one
    dimension: a transposed convolution is a convolution of the input dilated by ``stride``, padded
    so, with the kernel as is (no flip, ``transpose_kernel=False``); the output is ``stride`` times
    the input."""
    total = kernel + stride - 2
    lo = kernel - 1 if stride > kernel - 1 else -(-total // 2)
    return lo, total - lo


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
):
    """``lax.conv_general_dilated`` with canonical-layout gradients (module docstring) for 2-D NHWC/HWIO
    convolutions without kernel dilation or groups; any other call is passed to lax unchanged."""
    ones = (1,) * (lhs.ndim - 2)
    lhs_dilation = tuple(lhs_dilation or ones)
    rhs_dilation = tuple(rhs_dilation or ones)
    supported = (
        lhs.ndim == 4
        and rhs_dilation == ones
        and feature_group_count == 1
        and batch_group_count == 1
        and preferred_element_type is None
        and lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
        == lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC)
    )
    if not supported:
        return lax.conv_general_dilated(
            lhs,
            rhs,
            window_strides,
            padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers,
            feature_group_count=feature_group_count,
            batch_group_count=batch_group_count,
            precision=precision,
            preferred_element_type=preferred_element_type,
        )
    strides = tuple(int(s) for s in window_strides)
    pads = _explicit_padding(padding, lhs.shape[1:3], rhs.shape[:2], strides, lhs_dilation)
    return _make_conv(strides, pads, lhs_dilation, precision)(lhs, rhs)
