"""Sample grids as images."""

import numpy as np
from PIL import Image


def grid(
    samples: np.ndarray, rows: int, cols: int, side: int = 28, pad: int = 1, channels: int = 1
) -> np.ndarray:
    """Tiles ``rows * cols`` flat images in [0, 1] ([side * side * channels], HWC order) into one uint8
    [H, W] (one channel) or [H, W, channels] array, ``pad`` px apart."""
    samples = np.asarray(samples, np.float32)
    size = side * side * channels
    if samples.shape != (rows * cols, size):
        raise ValueError(f"expected {rows * cols} images of {size} values, got {samples.shape}")
    cell = side + pad
    out = np.ones((rows * cell + pad, cols * cell + pad, channels), np.float32)
    tiles = samples.reshape(rows, cols, side, side, channels)
    for r in range(rows):
        for c in range(cols):
            out[pad + r * cell : pad + r * cell + side, pad + c * cell : pad + c * cell + side] = tiles[r, c]
    out = out[..., 0] if channels == 1 else out
    return np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)


def sample_grid(samples: np.ndarray, shape, value_range, rows: int, cols: int) -> np.ndarray:
    """``grid`` of ``rows * cols`` flat samples of images ``shape`` (H, W, C) whose values span
    ``value_range`` = (low, high), mapped to [0, 1] first."""
    low, high = value_range
    return grid((np.asarray(samples) - low) / (high - low), rows, cols, shape[0], channels=shape[2])


def save_png(path: str, image: np.ndarray, scale: int = 2) -> None:
    Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST).save(path)


def read_png(path: str) -> np.ndarray:
    """uint8 [H, W, 3] RGB pixels of a PNG file."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
