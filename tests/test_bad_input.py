"""Bad input gets one clear line on stderr and a non-zero exit."""

from pathlib import Path

from conftest import anpr, free_port


def assert_clean_error(result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("anpr: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_missing_file():
    assert_clean_error(anpr("run", "no/such/video.mp4"), "source not found", "no/such/video.mp4")


def test_unreachable_url():
    assert_clean_error(anpr("run", f"rtsp://127.0.0.1:{free_port()}/none", timeout=60), "cannot open stream")


def test_corrupt_video(tmp_path: Path):
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    assert_clean_error(anpr("run", str(bad)), "corrupt.mp4")


def test_unknown_source_type(tmp_path: Path):
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    assert_clean_error(anpr("run", str(odd)), "unknown source type")


def test_invalid_config(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("scan:\n  presence_threshold: 7\n")
    assert_clean_error(anpr("run", "--config", str(config)), "scan.presence_threshold=7")


def test_endpoint_in_use(tmp_path: Path):
    import zmq

    port = free_port()
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.bind(f"tcp://127.0.0.1:{port}")
    try:
        result = anpr("run", "--publish", f"tcp://127.0.0.1:{port}", "--journal", str(tmp_path / "e.db"), "--max-frames", "1")
        assert_clean_error(result, "Address already in use")
    finally:
        sock.close(linger=0)


def test_calibrating_without_a_gate_or_data(tmp_path: Path):
    config = tmp_path / "nogate.yaml"
    config.write_text("gate:\n  onnx: null\n")
    assert_clean_error(anpr("calibrate-gate", str(tmp_path), "--config", str(config)), "gate.onnx=None")
    assert_clean_error(anpr("calibrate-gate", str(tmp_path / "none")), "not found")


def test_a_gate_layout_that_skips_pixels(tmp_path: Path):
    config = tmp_path / "gate.yaml"
    config.write_text("gate:\n  blocks: [{filters: 8, kernel: 3, stride: 4}]\n")
    assert_clean_error(anpr("run", "--config", str(config)), "gate.blocks", "stride 4 is larger than kernel 3")
