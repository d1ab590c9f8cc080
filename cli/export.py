"""``claran export``: a checkpoint's network as an ONNX file for ONNX Runtime (``--backend onnxruntime``)."""

from __future__ import annotations

import click

from claran.errors import UserError


@click.command("export", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("output", type=click.Path(path_type=str), metavar="OUT.onnx")
@click.option("--load", "ckpt", type=click.Path(path_type=str), default=None, metavar="CKPT",
              help="Checkpoint from `claran train` (default: the bundled RGZ model rgz/models/default.pt).")
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Export format.")
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT.onnx.")
def export(output: str, ckpt: str | None, fmt: str, overwrite: bool) -> None:
    """Write the network of CKPT (backbone, RPN, box and mask heads, FrozenBN folded) to OUT.onnx. Anchors,
    NMS and the rest stay claran's Python: run it with `claran.Predictor(model, backend="onnxruntime",
    onnx="OUT.onnx")` or `claran detect --backend onnxruntime --onnx OUT.onnx`."""
    from catalogs import check_output
    from claran.export.onnx import require

    if not output.endswith(".onnx"):
        raise UserError(f"{output}: the ONNX file name must end in .onnx")
    check_output(output, overwrite=overwrite, what="ONNX file")
    require("onnx")
    if ckpt is None:
        from rgz.detector import default_model_path

        ckpt = str(default_model_path())
    from claran.engine.checkpoint import load_model
    from claran.export.onnx import export_onnx

    model, _ = load_model(ckpt)
    parts = export_onnx(model, output)
    click.echo(f"{ckpt} -> {output} ({len(parts)} parts: {', '.join(p.name for p in parts)})")
