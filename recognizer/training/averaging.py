"""Averaging the weights of networks fine-tuned from one parent (a "model soup")."""

from __future__ import annotations

from pathlib import Path


def average_weights(net, sources: list[Path], out: Path) -> None:  # type: ignore[no-untyped-def]
    """Writes the element-wise mean of several weight files of one network (the plate network or the crop reader).

    Every weight is averaged, batch normalisation's moving means and variances included. The sources should be
    fine-tuned from the same parent, so that their weights still lie in one basin of the loss and their mean is
    itself a working network (the model card says what the shipped mean read against its runs).

    Args:
        net: A Keras model of the layout the files were trained with (its weights are overwritten).
        sources: ``.weights.h5`` files of that layout.
        out: The ``.weights.h5`` file to write.

    Raises:
        FileNotFoundError: A source is missing.
    """
    for source in sources:
        if not source.is_file():
            raise FileNotFoundError(f"weights not found: {source}")
    total = None
    for source in sources:
        net.load_weights(source)
        weights = net.get_weights()
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
    net.set_weights([t / len(sources) for t in total])
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save_weights(out)
