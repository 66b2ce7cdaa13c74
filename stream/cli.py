"""The ``anpr`` command line: run, proxy, keys, read, eval, subscribe, events, render-bank, train, train-gate,
calibrate-gate, train-reader, export, average, bench, demo."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import sys
import time
from pathlib import Path

from stream.config import DEFAULT_CONFIG, DEMO_CONFIG, AppConfig, ConfigError, load_config, resolve

log = logging.getLogger(__name__)

DEMO_CLIP = Path(__file__).resolve().parent / "demo" / "demo.mp4"
"""The built-in demo clip, replayed when ``run`` is given no source."""

TRAINING_PACKAGES = {"tensorflow", "keras", "tf2onnx", "onnx", "PIL"}
"""The ``train`` extra's packages (setup.cfg): training, export and the plate renderer need them, running does not."""


def _lengths(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected N or N-M, got {text!r}") from error


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT with a port from 1 to 65535, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config YAML (default: configs/default.yaml)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser = argparse.ArgumentParser(prog="anpr", description="Real-time number plate recognition stream processor.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="process a camera, stream, video or images and publish plate events")
    run.add_argument("source", nargs="?",
                     help="camera index, rtsp/http URL, video, image or folder (default: every camera the config lists, "
                          "one process each; with no cameras listed, the demo clip with configs/demo.yaml)")
    run.add_argument("--camera", help="camera name put in events; a camera the config lists runs with its source and scan settings")
    run.add_argument("--publish", help="ZeroMQ endpoint to bind (default from config)")
    run.add_argument("--json", action="store_true", help="also print every plate event as a JSON line")
    run.add_argument("--realtime", action="store_true",
                     help="replay files as a live camera: at their frame rate, dropping frames it cannot keep up with")
    run.add_argument("--max-frames", type=int, help="stop after N frames")
    run.add_argument("--annotate", type=Path, help="write the video with boxes and reads drawn (MP4)")
    run.add_argument("--replay", help="ZeroMQ endpoint serving missed events (default from config)")
    run.add_argument("--journal", type=Path, help="SQLite event journal (default from config)")
    run.add_argument("--upstream", help="publish into this proxy (XSUB) endpoint instead of binding one (default from config)")
    run.add_argument("--no-replay", action="store_true", help="serve no replay endpoint (a supervisor serves its cameras')")
    run.add_argument("--no-mqtt", action="store_true",
                     help="leave publish.mqtt to another process (a supervisor forwards its cameras' events)")
    run.add_argument("--web", type=_address, metavar="HOST:PORT",
                     help="serve the live view in the browser here (e.g. 127.0.0.1:8080; default: the config's web section)")

    proxy = sub.add_parser("proxy", parents=[common], help="gather camera processes' events into one endpoint (XSUB/XPUB)")
    proxy.add_argument("--collect", help="XSUB endpoint the camera processes publish into (default: publish.collect_endpoint)")
    proxy.add_argument("--publish", help="XPUB endpoint subscribers connect to (default: publish.endpoint)")

    keys = sub.add_parser("keys", parents=[common], help="make a CURVE key pair: NAME.key (public) and NAME.key_secret")
    keys.add_argument("folder", type=Path)
    keys.add_argument("name")

    read = sub.add_parser("read", parents=[common], help="read plates in image files or folders")
    read.add_argument("paths", nargs="+", type=Path)
    read.add_argument("--json", action="store_true", help="one JSON line per image (default: a line of text)")

    ev = sub.add_parser("eval", parents=[common], help="score reads against labelled sets: one table of every set")
    ev.add_argument("path", type=Path, help="a manifest.csv, a set's folder, or a folder of sets (e.g. the dev data): "
                    "photos, plate crops, and clips (clip.mp4 with truth.csv)")
    ev.add_argument("--json", action="store_true", help="one JSON line per set instead of the table")
    ev.add_argument("--lengths", type=_lengths, help="only plates of N or N-M characters")
    ev.add_argument("--limit", type=int, help="only the first N images")
    ev.add_argument("--errors", type=Path, metavar="CSV",
                    help="write every plate not read exactly, and every false event of a clip, to this CSV file")

    subscribe = sub.add_parser("subscribe", parents=[common], help="print published events as JSON lines")
    subscribe.add_argument("endpoint", nargs="?", help="publisher endpoint (default from config)")
    subscribe.add_argument("--topics", default="plate",
                           help="comma-separated topics (plate,alert,read,heartbeat); plate alone or alert alone "
                           "are delivered reliably (see --replay)")
    subscribe.add_argument("--timeout", type=float, help="exit after this many seconds without a message")
    subscribe.add_argument("--count", type=int, help="exit after this many messages")
    subscribe.add_argument("--replay", help="publisher's replay endpoint, or a comma-separated list of one per host behind "
                           "a proxy (default from config); plate events that were missed are fetched from it, so each "
                           "arrives exactly once")
    subscribe.add_argument("--state", type=Path, help="file keeping this subscriber's position across restarts")

    events = sub.add_parser("events", parents=[common], help="list journaled plate events")
    events.add_argument("--journal", type=Path, help="SQLite journal (default from config)")
    events.add_argument("--plate", help="plate text, or a pattern with %% and _ wildcards")
    events.add_argument("--camera")
    events.add_argument("--alert", metavar="LIST", help="only events that raised an alert on this watch list")
    events.add_argument("--since", help="earliest first_seen, ISO 8601 (e.g. 2026-11-24T10:00)")
    events.add_argument("--until", help="latest first_seen, ISO 8601, exclusive")
    events.add_argument("--limit", type=int, default=1000)
    events.add_argument("--json", action="store_true", help="JSON lines instead of a table")

    bank = sub.add_parser("render-bank", parents=[common],
                          help="render a bank of training windows to train many epochs on (resumes an unfinished one)")
    bank.add_argument("--out", type=Path, required=True, help="the bank's folder")
    bank.add_argument("--windows", type=int, required=True, help="windows in the bank")
    bank.add_argument("--workers", type=int, help="rendering processes (default: train.workers)")
    bank.add_argument("--shard-size", type=int, default=2048, help="windows per shard file")
    bank.add_argument("--kind", choices=("windows", "crops"), default="windows",
                      help="windows for the window network, or plate crops for the crop reader (reader.height x width)")

    train = sub.add_parser("train", parents=[common], help="train the network on generated windows (resumes a run folder)")
    train.add_argument("--run-dir", type=Path, default=Path("runs/train"))
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--seed", type=int, help="override train.seed (another run of the same phase, to average)")
    train.add_argument("--bank", type=Path, help="override train.bank: train on this bank of windows (anpr render-bank)")
    train.add_argument("--out", type=Path, help="copy the best weights here at the end, with their ONNX forms beside "
                       "them (default: recognizer.weights and recognizer.onnx)")

    gate = sub.add_parser("train-gate", parents=[common], help="train the gate network on generated windows (resumes a run folder)")
    gate.add_argument("--run-dir", type=Path, default=Path("runs/gate"))
    gate.add_argument("--out", type=Path, default=Path("recognizer/weights/gate.onnx"),
                      help="the ONNX file written at the end (set gate.onnx to it to use it)")

    calibrate = sub.add_parser("calibrate-gate", parents=[common],
                               help="what each gate threshold keeps of labelled plates and passes of clip windows")
    calibrate.add_argument("path", type=Path, help="a manifest.csv, a set's folder, or a folder of sets (e.g. the dev "
                           "data): photo sets with plate boxes, and clips")

    reader = sub.add_parser("train-reader", parents=[common],
                            help="train the crop reader on a bank of plate crops (resumes a run folder)")
    reader.add_argument("--run-dir", type=Path, default=Path("runs/reader"))
    reader.add_argument("--bank", type=Path, help="override train.bank: a crop bank (anpr render-bank --kind crops)")
    reader.add_argument("--epochs", type=int, help="override train.epochs")
    reader.add_argument("--out", type=Path, help="copy the kept weights here, with the ONNX file beside them "
                        "(default: reader.weights and reader.onnx)")

    export = sub.add_parser("export", parents=[common], help="write the ONNX model and its 8-bit form from the Keras weights")
    export.add_argument("--reader", action="store_true", help="the crop reader's instead: reader.weights to reader.onnx")

    average = sub.add_parser("average", parents=[common],
                             help="average the weights of networks fine-tuned from one parent (a model soup)")
    average.add_argument("weights", nargs="+", type=Path, help=".weights.h5 files of the network layout in the config")
    average.add_argument("--reader", action="store_true", help="weights of the crop reader (default: of the plate network)")
    average.add_argument("--out", type=Path, help="the averaged weights, with their ONNX forms beside them (default: "
                         "recognizer.weights and recognizer.onnx; with --reader, reader.weights and reader.onnx)")

    bench = sub.add_parser("bench", parents=[common],
                           help="frames per second, time per stage, frames dropped live, memory and plates read on clips")
    bench.add_argument("clips", nargs="*", type=Path,
                       help="labelled clips' folders (clip.mp4 and truth.csv, e.g. the dev data's video_*) or videos "
                            "(default: the demo clip)")
    bench.add_argument("--generated", action="store_true",
                       help="also generated 720p and 1080p clips (three cars on a plain background)")
    bench.add_argument("--frames", type=int, help="only the first N frames of each clip")
    bench.add_argument("--clip-dir", type=Path, default=Path("runs/bench"), help="where generated clips are kept")
    bench.add_argument("--repeat", type=int, default=1,
                       help="runs of each clip and mode; medians are shown (the run of the median frame rate)")
    bench.add_argument("--no-live", action="store_true",
                       help="skip the live replay at the clip's frame rate that counts dropped frames")
    bench.add_argument("--whole", action="store_true",
                       help="also run each clip scanning every frame whole (scan.full_scan_every: 1), for comparison")
    bench.add_argument("--no-gate", action="store_true", help="also run each clip without the gate network, for comparison")

    demo = sub.add_parser("demo", parents=[common], help="regenerate the built-in demo clip")
    demo.add_argument("--out", type=Path, default=DEMO_CLIP)
    return parser


def _image_paths(paths: list[Path]) -> list[Path]:
    from stream.sources import SourceError, image_files

    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise SourceError(f"not found: {path}")
        files.extend(image_files(str(path)))
    return files


def _cmd_run(config: AppConfig, args: argparse.Namespace) -> int:
    from stream.alerts import reload_on_sighup
    from stream.pipeline import RunOptions, StreamRunner, install_signal_handlers, load_network
    from stream.sources import SourceError

    listed = config.camera(args.camera) if args.camera else None
    if args.source is None and listed is None and config.cameras:
        return _supervise(config, args)
    if listed is not None:
        config = config.for_camera(listed)
    if args.web:
        host, port = args.web
        config = config.model_copy(update={"web": config.web.model_copy(update={"enabled": True, "host": host, "port": port})})
    source = args.source or (listed.source if listed else str(DEMO_CLIP))
    options = RunOptions(source, args.camera, args.publish, args.json, args.realtime or bool(listed and listed.realtime),
                         args.max_frames, args.annotate, args.replay, args.journal, args.upstream, not args.no_replay,
                         not args.no_mqtt, (args.config or (DEFAULT_CONFIG if args.source else DEMO_CONFIG)).resolve())
    runner = StreamRunner(config, options, load_network(config))
    install_signal_handlers(runner.stop_event)
    reload_on_sighup(runner.watch)
    runner.run()
    if runner.processed == 0 and runner.skipped:
        raise SourceError(f"no readable frame in {source} ({runner.skipped} skipped)")
    return 0


def _supervise(config: AppConfig, args: argparse.Namespace) -> int:
    import signal

    from stream.pipeline import install_signal_handlers
    from stream.supervisor import Supervisor

    config_path = (args.config or DEFAULT_CONFIG).resolve()
    if args.publish or args.replay:
        config = config.model_copy(update={"publish": config.publish.model_copy(update={
            "endpoint": args.publish or config.publish.endpoint,
            "replay_endpoint": args.replay or config.publish.replay_endpoint})})
    supervisor = Supervisor(config, config_path, (args.journal or config.publish.journal).expanduser(), args.json)
    install_signal_handlers(supervisor.stop_event)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: supervisor.hangup())  # the cameras reload their watch lists
    supervisor.run()
    return 0


def _cmd_proxy(config: AppConfig, args: argparse.Namespace) -> int:
    import signal

    from stream.proxy import Proxy
    from stream.security import load_curve

    curve = load_curve(config.publish.curve)
    collect, publish = args.collect or config.publish.collect_endpoint, args.publish or config.publish.endpoint
    proxy = Proxy(collect, publish, curve).start()
    print(f"proxy: publishers connect to {collect}, subscribers to {publish}", flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: proxy.stop_event.set())
    proxy.stop_event.wait()
    proxy.stop()
    if curve is not None:
        curve.close()
    log.info("proxy stopped after %d messages", proxy.forwarded)
    return 0


def _cmd_keys(config: AppConfig, args: argparse.Namespace) -> int:
    from stream.security import make_keys

    public, secret = make_keys(args.folder, args.name)
    print(f"wrote {public} (give this to the other side) and {secret} (keep this one private)")
    return 0


def _cmd_read(config: AppConfig, args: argparse.Namespace) -> int:
    import cv2

    from stream.pipeline import load_network
    from stream.sources import SourceError
    from stream.stills import StillReader

    files = _image_paths(args.paths)
    unreadable = 0
    with StillReader(config, load_network(config)) as reader:
        for path in files:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                log.warning("skipping unreadable image %s", path)
                unreadable += 1
                continue
            started = time.monotonic()
            plates = reader.read(image)
            ms = (time.monotonic() - started) * 1000
            if args.json:
                record = {"file": path.name, "plates": [
                    {"text": p.text, "confidence": round(p.confidence, 4), "box": [int(round(v)) for v in p.box],
                     "format": p.plate_format}
                    for p in plates], "ms": round(ms, 1)}
                print(json.dumps(record), flush=True)
            else:
                print(f"{path.name}: " + (", ".join(f"{p.text} ({p.confidence:.2f})" for p in plates) or "no plate"))
    if unreadable:
        raise SourceError(f"{unreadable} of {len(files)} images could not be read")
    return 0


def _cmd_eval(config: AppConfig, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from stream.pipeline import load_network
    from stream.stills import evaluate

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    def count(value: int | None) -> str:
        return "-" if value is None else str(value)

    if not args.path.exists():
        raise FileNotFoundError(f"not found: {args.path}")
    network = load_network(config)
    with args.errors.open("w", newline="") if args.errors is not None else contextlib.nullcontext() as handle:
        errors = None if handle is None else csv.writer(handle)
        if errors is not None:
            errors.writerow(["set", "file", "truth", "read", "confidence", "another_label"])
        if not args.json:
            print(f"{'set':24} {'kind':6} {'items':>5} {'exact':>6} {'O/0':>6} {'found':>6} {'false':>5} {'dup':>3} "
                  f"{'ms/item':>7}", flush=True)
        for score in evaluate(args.path, config, network, args.lengths, args.limit):
            if errors is not None:
                errors.writerows([score.name, e.file, e.truth, e.read, "" if e.confidence is None else
                                  round(e.confidence, 4), "1" if e.another_label else ""] for e in score.errors)
                handle.flush()
            if args.json:
                print(json.dumps({k: v for k, v in asdict(score).items() if k != "errors"}), flush=True)
                continue
            print(f"{score.name[:24]:24} {score.kind:6} {score.items:5d} {share(score.exact):>6} "
                  f"{share(score.exact_o0):>6} {share(score.found):>6} {count(score.false_reads):>5} "
                  f"{count(score.duplicates):>3} {score.ms:7.0f}", flush=True)
    return 0


def _cmd_calibrate_gate(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.gate import load_onnx_gate
    from stream.gate_calibration import THRESHOLDS, calibrate

    if config.gate.onnx is None:
        raise ConfigError("gate.onnx=None: no gate to calibrate")
    if not args.path.exists():
        raise FileNotFoundError(f"not found: {args.path}")
    gate = load_onnx_gate(resolve(config.gate.onnx), config.recognizer.threads)
    print(f"{'set':24} {'kind':7} {'items':>8}  share above: " + " ".join(f"{t:>6}" for t in THRESHOLDS), flush=True)
    for row in calibrate(args.path, gate, config.gate.stride, config.scan, config.model.window_shape):
        print(f"{row.name[:24]:24} {row.kind:7} {row.items:8d}  {'':13}" + " ".join(
            f"{share:6.4f}" if row.kind == "windows" else f"{share:6.1%}" for share in row.shares), flush=True)
    return 0


def _cmd_subscribe(config: AppConfig, args: argparse.Namespace) -> int:
    from stream.security import load_curve
    from stream.subscriber import ReliableSubscriber, subscribe

    topics = tuple(t.strip() for t in args.topics.split(",") if t.strip())
    endpoint = args.endpoint or config.publish.endpoint
    curve = load_curve(config.publish.curve)
    reliable = None
    if topics in {("plate",), ("alert",)}:
        replay = [e.strip() for e in (args.replay or config.publish.replay_endpoint).split(",") if e.strip()]
        reliable = ReliableSubscriber(endpoint, replay, args.state, curve=curve, topic=topics[0])
        stream = reliable.events(idle_timeout_s=args.timeout)
    else:
        stream = (m.data for m in subscribe(endpoint, topics, args.timeout, curve=curve))
    count = 0
    try:
        for data in stream:
            print(json.dumps(data), flush=True)
            if reliable is not None:
                reliable.ack(data)  # written and flushed: the saved position may move past it
            count += 1
            if args.count and count >= args.count:
                break
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_events(config: AppConfig, args: argparse.Namespace) -> int:
    from stream.journal import Journal

    path = (args.journal or config.publish.journal).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"journal not found: {path}")
    journal = Journal(path)
    try:
        stored = journal.query(args.plate, args.camera, args.since, args.until, args.limit, args.alert)
    finally:
        journal.close()
    if args.json:
        for event in stored:
            print(event.body)
        return 0
    print(f"{'first_seen':24} {'camera':10} {'plate':9} {'conf':>5} {'frames':>6}  epoch/seq")
    for event in stored:
        e = event.data
        print(f"{e['first_seen']:24} {e['camera'][:10]:10} {e['plate']:9} {e['confidence']:5.2f} {e['frames']:6d}  "
              f"{event.epoch}/{event.seq}")
    return 0


def _export(config: AppConfig, weights: Path, onnx: Path) -> None:
    """Writes the ONNX network of a weights file and its 8-bit form beside it."""
    from recognizer.engine import export_onnx, int8_path
    from recognizer.training.quantize import quantize_int8

    export_onnx(weights, config.model, onnx)
    quantize_int8(onnx, config.model, config.renderer, int8_path(onnx))
    print(f"wrote {onnx} and {int8_path(onnx)}")


def _out_paths(config: AppConfig, out: Path | None, weights: Path | None = None,
               onnx: Path | None = None) -> tuple[Path, Path]:
    """Where a command writes weights and their ONNX file: ``--out`` and the ONNX file beside it, or without it
    ``weights`` and ``onnx`` (default: ``recognizer.weights`` and ``recognizer.onnx``)."""
    if out is None:
        return resolve(weights or config.recognizer.weights), resolve(onnx or config.recognizer.onnx)
    return out, out.with_name(out.name.split(".")[0] + ".onnx")


def _cmd_train(config: AppConfig, args: argparse.Namespace) -> int:
    import keras

    from recognizer.training.train import train

    overrides = {"epochs": args.epochs, "seed": args.seed, "bank": args.bank}
    spec = config.train.model_copy(update={key: value for key, value in overrides.items() if value is not None})
    paths = {key: resolve(getattr(spec, key)) for key in ("init_weights", "bank") if getattr(spec, key) is not None}
    spec = spec.model_copy(update=paths)
    weights, onnx = _out_paths(config, args.out)
    train(config.model, config.renderer, spec, args.run_dir, weights)
    if keras.backend.backend() != "tensorflow":  # the ONNX export needs TensorFlow
        print(f"wrote {weights}; not exported under the {keras.backend.backend()} backend: export it where TensorFlow is")
        return 0
    _export(config, weights, onnx)
    return 0


def _cmd_render_bank(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.synth.crops import CropGenerator
    from recognizer.synth.windows import WindowGenerator
    from recognizer.training.bank import render_bank

    if args.windows < 1 or args.shard_size < 1 or (args.workers is not None and args.workers < 1):
        raise ConfigError(f"--windows, --shard-size and --workers must be positive: {args.windows}, {args.shard_size}, {args.workers}")
    started = time.monotonic()
    crops = args.kind == "crops"
    model = config.reader.crop_model(config.model) if crops else config.model
    shards = render_bank(model, config.renderer, resolve(args.out), args.windows, args.workers or config.train.workers,
                         config.train.seed, args.shard_size, CropGenerator if crops else WindowGenerator)
    print(f"bank {resolve(args.out)}: {args.windows} windows in {len(shards)} shards ({time.monotonic() - started:.0f} s)")
    return 0


def _cmd_train_gate(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.training.gate_train import train_gate

    train_gate(config.model, config.renderer, config.train, config.gate, args.run_dir, resolve(args.out))
    print(f"wrote {resolve(args.out)}")
    return 0


def _cmd_train_reader(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.training.train_reader import export_reader, train_reader

    import keras

    overrides = {"epochs": args.epochs, "bank": args.bank}
    spec = config.train.model_copy(update={key: value for key, value in overrides.items() if value is not None})
    spec = spec.model_copy(update={key: resolve(getattr(spec, key)) for key in ("init_weights", "bank", "real_crops")
                                   if getattr(spec, key) is not None})
    if spec.bank is None:
        raise ConfigError("train.bank: the crop reader trains on a crop bank: pass --bank (anpr render-bank --kind crops)")
    weights, onnx = _out_paths(config, resolve(args.out) if args.out else None, config.reader.weights, config.reader.onnx)
    train_reader(config.model, config.renderer, config.reader, spec, args.run_dir, weights)
    if keras.backend.backend() != "tensorflow":  # the ONNX export needs TensorFlow
        print(f"wrote {weights}; not exported under the {keras.backend.backend()} backend: export it where TensorFlow is")
        return 0
    export_reader(weights, config.model, config.reader, onnx)
    print(f"wrote {weights} and {onnx}")
    return 0


def _cmd_export(config: AppConfig, args: argparse.Namespace) -> int:
    if args.reader:
        from recognizer.training.train_reader import export_reader

        export_reader(resolve(config.reader.weights), config.model, config.reader, resolve(config.reader.onnx))
        print(f"wrote {resolve(config.reader.onnx)}")
        return 0
    _export(config, *_out_paths(config, None))
    return 0


def _cmd_average(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.training.averaging import average_weights

    sources = [resolve(path) for path in args.weights]
    if args.reader:
        from recognizer.training.reader_network import build_reader
        from recognizer.training.train_reader import export_reader

        weights, onnx = _out_paths(config, args.out, config.reader.weights, config.reader.onnx)
        average_weights(build_reader(config.reader.crop_model(config.model), config.reader), sources, weights)
        export_reader(weights, config.model, config.reader, onnx)
        print(f"wrote {onnx}")
        return 0
    from recognizer.training.network import build_network

    weights, onnx = _out_paths(config, args.out)
    average_weights(build_network(config.model, config.model.window_shape), sources, weights)
    _export(config, weights, onnx)
    return 0


def _cmd_bench(config: AppConfig, args: argparse.Namespace) -> int:
    import statistics

    import cv2

    from stream.bench import (STAGES, bench_clips, clip_of, dense_vs_batched, machine_line, peak_memory_mb, run_clip,
                              score_events)
    from stream.pipeline import load_network

    network = load_network(config)
    paths = list(args.clips) + (bench_clips(args.clip_dir, config) if args.generated else [])
    clips = [clip_of(path) for path in paths or [DEMO_CLIP]]
    whole = config.model_copy(update={"scan": config.scan.model_copy(update={"full_scan_every": 1})})
    ungated = {"gate": config.gate.model_copy(update={"onnx": None})}
    runs = [("", config)] + ([(" (whole)", whole)] if args.whole else [])
    if args.no_gate and config.gate.onnx is not None:
        runs += [(label + " no gate", run_config.model_copy(update=ungated)) for label, run_config in runs]
    print(machine_line(), flush=True)
    print(f"{'clip':30} {'size':>9} {'frames':>6} {'fps':>6} {'speed':>6} {'live drop':>9}  median ms: "
          + " ".join(STAGES) + "  peak MB  plates read/false/dup of truth: texts", flush=True)
    repeat = max(1, args.repeat)
    for clip in clips:
        for label, run_config in runs:
            results = sorted((run_clip(clip.video, run_config, network, args.frames) for _ in range(repeat)),
                             key=lambda result: result.fps)
            r = results[len(results) // 2]
            live = "-"
            if not args.no_live and not label:
                drops = [x.dropped / max(1, x.frames + x.dropped)
                         for x in (run_clip(clip.video, run_config, network, args.frames, True) for _ in range(repeat))]
                live = f"{statistics.median(drops):.0%}"
            speed = f"{r.fps / r.clip_fps:.2f}x" if r.clip_fps > 0 else "-"
            plates = "-"
            if clip.plates is not None:
                score = score_events(r.texts, clip.plates)
                plates = f"{score.read}/{score.false}/{score.duplicates} of {len(set(clip.plates))}"
            name = (clip.video.parent.name if clip.video.name == "clip.mp4" else clip.video.name) + label
            runs_fps = f"  (runs: {' / '.join(f'{x.fps:.2f}' for x in results)} fps)" if len(results) > 1 else ""
            print(f"{name[:30]:30} {r.size[0]:>4}x{r.size[1]:<4} {r.frames:>6} {r.fps:6.2f} {speed:>6} {live:>9}  "
                  + " ".join(f"{r.ms[stage]:{len(stage)}.1f}" for stage in STAGES)
                  + f"  {peak_memory_mb():7.0f}  {plates}: {' '.join(r.texts)}{runs_fps}", flush=True)
    capture = cv2.VideoCapture(str(clips[-1].video))
    ok, frame = capture.read()
    capture.release()
    if ok:
        dense, batched = dense_vs_batched(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), config, network)
        print(f"one pyramid level of {clips[-1].video.name}: fully convolutional {dense * 1000:.0f} ms, "
              f"batched crops {batched * 1000:.0f} ms, ratio {batched / dense:.1f}x")
    return 0


def _cmd_demo(config: AppConfig, args: argparse.Namespace) -> int:
    from recognizer.synth.clip import make_clip

    vehicles = make_clip(args.out, config.model, config.renderer)
    print(f"wrote {args.out}: " + ", ".join(v.plate for v in vehicles))
    return 0


COMMANDS = {"run": _cmd_run, "proxy": _cmd_proxy, "keys": _cmd_keys, "read": _cmd_read, "eval": _cmd_eval,
            "subscribe": _cmd_subscribe, "events": _cmd_events, "render-bank": _cmd_render_bank, "train": _cmd_train, "train-gate": _cmd_train_gate, "calibrate-gate": _cmd_calibrate_gate, "train-reader": _cmd_train_reader, "export": _cmd_export,
            "average": _cmd_average, "bench": _cmd_bench, "demo": _cmd_demo}


def _zmq_errors() -> tuple[type[Exception], ...]:
    """ZeroMQ's error class once a command has imported ZeroMQ (training never does: it runs where pyzmq is absent)."""
    zmq = sys.modules.get("zmq")
    return (zmq.ZMQError,) if zmq is not None else ()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``anpr`` console script.

    Returns:
        Exit status: 0 on success, 2 for bad input (config, source, missing files), 1 for other failures.
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from stream.sources import SourceError

    config_path = args.config
    if config_path is None and args.command == "run" and not args.source:
        config_path = DEMO_CONFIG  # the demo clip's camera
    try:
        config = load_config(config_path)
        return COMMANDS[args.command](config, args)
    except (ConfigError, SourceError, OSError, *_zmq_errors()) as error:
        print(f"anpr: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in TRAINING_PACKAGES:
            raise
        print(f"anpr: error: 'anpr {args.command}' needs the training packages ({error.name} is not installed): "
              "pip install 'anpr-stream[train]', or ./scripts/setup.sh --train", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
