"""2-D convolutions whose gradients stay in the layout XLA's CPU backend runs fast.

``conv_general_dilated`` is a drop-in for ``lax.conv_general_dilated`` (``nn.Conv``'s
``conv_general_dilated`` field) for NHWC inputs and HWIO kernels: the same forward convolution, and a
``jax.custom_vjp`` whose two gradients are themselves NHWC/HWIO convolutions, with explicit
transposes and a ``jnp.flip`` where autodiff would use swapped dimension labels and a window reversal.

Why: XLA's CPU backend runs a convolution with its fast library kernels only in that canonical form
(no window reversal); any other becomes a naive elemental loop. Its pass that inserts the transposes
(xla/service/cpu/conv_canonicalization.cc) visits only the entry computation, so inside the
``lax.scan`` of fused steps every autodiff convolution would stay naive, and even outside it the kernel
gradient of a transposed convolution (a window reversal) would (timings: experiments/reports/BENCHMARKS.md).

The gradients' own convolutions are built by the same function, so second-order gradients (the
penalties that differentiate D's input gradient: WGAN-GP, R1, R2, DRAGAN) are canonical too. Being a
``custom_vjp``, it has reverse mode only: ``jax.jvp``/``jacfwd`` through it raise (``conv_impl='lax'``
has both; nothing in gan_jax uses forward mode).

The math, per spatial dimension (input length H, kernel K, stride s, input dilation d, kernel
dilation r, padding (p, q), output length O; x~ the input dilated by d and padded):
  y[o]      = sum_k x~[o s + k r] w[k]
  dL/dx[i]  = sum_k (dy dilated by s, padded ((K-1) r - p, .))[i d + k r] w[K-1-k]     (strides d)
  dL/dw[k]  = sum_o x~[k r + o s] dy[o]     (a convolution over the batch: strides r, kernel dilation s)
"""

import jax
import jax.numpy as jnp
from jax import lax

_NHWC = ("NHWC", "HWIO", "NHWC")


def _canonical(lhs, rhs, strides, padding, lhs_dilation, rhs_dilation, precision):
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


def _explicit_padding(padding, in_sizes, kernel_sizes, strides, rhs_dilation):
    """((lo, hi), ...) for a padding string (no input dilation: lax refuses that) or pairs."""
    if not isinstance(padding, str):
        return tuple((int(lo), int(hi)) for lo, hi in padding)
    kernels = [(k - 1) * r + 1 for k, r in zip(kernel_sizes, rhs_dilation, strict=True)]
    return tuple(lax.padtype_to_pads(in_sizes, kernels, strides, padding))


def _input_gradient(dy, w, in_sizes, strides, padding, lhs_dilation, rhs_dilation, precision):
    """dL/dx: dy dilated by s, padded ((K-1) r - p, .), windows strided by d, the kernel flipped in
    space, its in and out features swapped, dilated by r; the high padding makes exactly H windows."""
    pads = []
    for n, k, o, s, d, r, (lo, _) in zip(
        in_sizes, w.shape[:2], dy.shape[1:3], strides, lhs_dilation, rhs_dilation, padding, strict=True
    ):
        lo_dx = (k - 1) * r - lo
        pads.append((lo_dx, (n - 1) * d + (k - 1) * r + 1 - lo_dx - ((o - 1) * s + 1)))
    w_flipped = jnp.flip(w, (0, 1)).transpose(0, 1, 3, 2)  # [K, K, out, in]
    return _conv(dy, w_flipped, lhs_dilation, pads, strides, rhs_dilation, precision)


def _kernel_gradient(x, dy, kernel_sizes, strides, padding, lhs_dilation, rhs_dilation, precision):
    """dL/dw, the batch as the contracted dimension (a convolution's 'features')."""
    sizes = list(
        zip(
            x.shape[1:3],
            kernel_sizes,
            dy.shape[1:3],
            strides,
            lhs_dilation,
            rhs_dilation,
            padding,
            strict=True,
        )
    )
    if strides == (1, 1) and lhs_dilation != (1, 1):
        # A transposed convolution: x~ (dilated) as the input would make dy a larger 'kernel' than the
        # input, which XLA swaps back into a reversed, non-canonical convolution. So dy is the input and
        # x the kernel: dw[K-1-k] = sum_i dy~[k r + i d] x[i], dy~ = dy padded ((K-1) r - p, .).
        pads = []
        for n, k, o, _, d, r, (lo, _) in sizes:
            lo_dw = (k - 1) * r - lo
            pads.append((lo_dw, (k - 1) * r + (n - 1) * d + 1 - o - lo_dw))
        dy_t = lax.pad(
            dy.transpose(3, 1, 2, 0), jnp.zeros((), dy.dtype), [(0, 0, 0), *_interior0(pads), (0, 0, 0)]
        )
        zero = ((0, 0), (0, 0))
        dw = _conv(dy_t, x.transpose(1, 2, 0, 3), rhs_dilation, zero, (1, 1), lhs_dilation, precision)
        return jnp.flip(dw, (1, 2)).transpose(1, 2, 3, 0)  # [out, K, K, in] -> [K, K, in, out]
    # dw[k] = sum_o x~[k r + o s] dy[o]: x as [in, H, W, batch], dy as the kernel [Ho, Wo, batch, out]
    # dilated by s, windows strided by r; the high padding makes exactly K windows
    pads = [(lo, (k - 1) * r + (o - 1) * s - (n - 1) * d - lo) for n, k, o, s, d, r, (lo, _) in sizes]
    dw = _conv(
        x.transpose(3, 1, 2, 0),
        dy.transpose(1, 2, 0, 3),
        rhs_dilation,
        pads,
        lhs_dilation,
        strides,
        precision,
    )
    return dw.transpose(1, 2, 0, 3)  # [in, K, K, out] -> [K, K, in, out]


def _interior0(pads):
    """(lo, hi) pairs as ``lax.pad``'s (lo, hi, interior) triples."""
    return [(lo, hi, 0) for lo, hi in pads]


def _conv(x, w, strides, padding, lhs_dilation, rhs_dilation, precision):
    """The canonical convolution with this module's gradients (static arguments as tuples)."""
    static = (tuple(strides), tuple(map(tuple, padding)), tuple(lhs_dilation), tuple(rhs_dilation))
    return _make_conv(*static, precision)(x, w)


def _make_conv(strides, padding, lhs_dilation, rhs_dilation, precision):
    """The custom-gradient convolution for one set of static arguments (explicit padding)."""

    @jax.custom_vjp
    def conv(x, w):
        return _canonical(x, w, strides, padding, lhs_dilation, rhs_dilation, precision)

    def fwd(x, w):
        return conv(x, w), (x, w)

    def bwd(residuals, dy):
        x, w = residuals
        dx = _input_gradient(dy, w, x.shape[1:3], strides, padding, lhs_dilation, rhs_dilation, precision)
        dw = _kernel_gradient(x, dy, w.shape[:2], strides, padding, lhs_dilation, rhs_dilation, precision)
        return dx.astype(x.dtype), dw.astype(w.dtype)

    conv.defvjp(fwd, bwd)
    return conv


def transpose_same_padding(kernel: int, stride: int) -> tuple[int, int]:
    """The padding of ``lax.conv_transpose(..., padding='SAME')`` (flax's ``nn.ConvTranspose``) along one
    dimension: a transposed convolution is a convolution of the input dilated by ``stride``, padded
    so, with the kernel as is (no flip, ``transpose_kernel=False``); the output is ``stride`` times
    the input. With kernel dilation r, ``kernel`` is the dilated size (k - 1) r + 1, as lax's."""
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
    convolutions without feature or batch groups or a preferred element type, with explicit padding
    or a padding string without input dilation; any other call is passed to lax unchanged (which
    computes it, or refuses it as lax does)."""
    ones = (1,) * (lhs.ndim - 2)
    lhs_dilation = tuple(lhs_dilation or ones)
    rhs_dilation = tuple(rhs_dilation or ones)
    supported = (
        lhs.ndim == 4
        and feature_group_count == 1
        and batch_group_count == 1
        and preferred_element_type is None
        and (not isinstance(padding, str) or lhs_dilation == ones)
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
    pads = _explicit_padding(padding, lhs.shape[1:3], rhs.shape[:2], strides, rhs_dilation)
    return _conv(lhs, rhs, strides, pads, lhs_dilation, rhs_dilation, precision)
