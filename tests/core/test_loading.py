"""``load_model`` on real files: downloads through huggingface_hub from a local fake Hub, the cache,
revisions, progress bars, offline use, and a clear error for every way a checkpoint can be wrong.

Nothing here touches the network: ``FakeHub`` (tests/fake_hub.py) answers on 127.0.0.1 the way
huggingface.co answers ``hf_hub_download``; every checkpoint is written by the tests.
"""

from __future__ import annotations

import importlib
import json
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fake_hub import FakeHub
from transformer_explainer.gpt2_core import GPT2Config, ModelNotAvailableError, WeightsError, load_model
from transformer_explainer.gpt2_core.checkpoints import train_tiny_bpe, write_random_checkpoint, write_tokenizer_files

REPO = "org/tiny-gpt2"
FILES = ("config.json", "model.safetensors", "vocab.json", "merges.txt")
PROMPT = "The quick brown fox jumps over the lazy dog."


def logits_of(model) -> np.ndarray:
    return model.forward(model.encode(PROMPT))


def read_tensors(directory: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file
    return load_file(str(directory / "model.safetensors"))


def write_tensors(directory: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})


def copy_checkpoint(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory) -> Path:
    """Same shapes and tokenizer as ``tiny_checkpoint``, other weights: an older commit of the repo."""
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny-gpt2-old"), std=0.2, seed=2)


@pytest.fixture(scope="module")
def local_logits(tiny_checkpoint, other_checkpoint) -> dict[str, np.ndarray]:
    return {"main": logits_of(load_model(tiny_checkpoint)), "old": logits_of(load_model(other_checkpoint))}


@pytest.fixture
def hub(tiny_checkpoint, other_checkpoint, monkeypatch):
    """A fake Hub where ``org/tiny-gpt2`` has two commits: ``hub.old_commit`` (other weights), then
    ``main`` (``tiny_checkpoint``). HF_HUB_OFFLINE, if the environment sets it, is lifted: this Hub is local."""
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with FakeHub() as fake:
        fake.old_commit = fake.add_revision(REPO, other_checkpoint)
        fake.main_commit = fake.add_revision(REPO, tiny_checkpoint)
        yield fake


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "hf-cache"


@pytest.fixture
def no_retry_wait(monkeypatch) -> list[float]:
    """huggingface_hub waits (1 s, 2 s, 4 s...) between retries; record the waits instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def hub_load(hub: FakeHub, cache: Path, repo: str = REPO, **options):
    return load_model(repo, endpoint=hub.endpoint, cache_dir=cache, progress=False, **options)


# -- downloading from the Hub ------------------------------------------------------------------------


def test_hub_download_fills_the_cache_and_matches_the_local_directory(hub, cache, tiny_checkpoint, local_logits):
    model = hub_load(hub, cache)
    snapshot = cache / "models--org--tiny-gpt2" / "snapshots" / hub.main_commit
    for name in FILES:
        assert (snapshot / name).read_bytes() == (tiny_checkpoint / name).read_bytes(), name
    assert (cache / "models--org--tiny-gpt2" / "refs" / "main").read_text() == hub.main_commit
    assert sorted(hub.downloads()) == sorted(FILES)  # each file sent once
    # The weights came the Hub's way: metadata from the resolve URL's redirect, bytes from the "CDN" host.
    assert [r.host for r in hub.requests if r.method == "GET" and r.filename == "model.safetensors"] == ["localhost"]
    assert np.array_equal(logits_of(model), local_logits["main"])
    assert model.name == REPO


def test_second_load_comes_from_the_cache(hub, cache, local_logits):
    hub_load(hub, cache)
    hub.reset_counts()
    again = hub_load(hub, cache)  # online: asks whether 'main' moved (HEAD), downloads nothing
    assert hub.count("GET") == 0 and hub.count("HEAD") == len(FILES)
    hub.reset_counts()
    cached = hub_load(hub, cache, local_files_only=True)
    assert hub.count() == 0
    hub.stop()  # offline: the HEAD requests fail, the cached files are used
    offline = hub_load(hub, cache)
    for model in (again, cached, offline):
        assert np.array_equal(logits_of(model), local_logits["main"])


@pytest.mark.parametrize("name", ["model.safetensors", "vocab.json"])
def test_a_cached_file_damaged_on_disk_is_refused_with_what_to_delete(hub, cache, name):
    hub_load(hub, cache)
    link = cache / "models--org--tiny-gpt2" / "snapshots" / hub.main_commit / name
    blob = link.resolve()
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the middle: every size check still passes
    blob.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as error:
        hub_load(hub, cache, local_files_only=True)
    assert str(error.value) == (f"{name} in the Hugging Face cache is damaged: its content no longer matches the "
                                f"hash it was downloaded with. Delete {blob} (and the link {link}) and load again "
                                f"to download it afresh")


def test_revision_selects_other_weights(hub, cache, local_logits):
    old = hub_load(hub, cache, revision=hub.old_commit)
    assert np.array_equal(logits_of(old), local_logits["old"])
    assert not np.allclose(logits_of(old), local_logits["main"])
    main = hub_load(hub, cache, revision="main")
    assert np.array_equal(logits_of(main), local_logits["main"])
    snapshots = cache / "models--org--tiny-gpt2" / "snapshots"
    assert sorted(p.name for p in snapshots.iterdir()) == sorted([hub.old_commit, hub.main_commit])
    hub.reset_counts()
    pinned = hub_load(hub, cache, revision=hub.old_commit)  # a cached commit needs no request at all
    assert hub.count() == 0
    assert np.array_equal(logits_of(pinned), local_logits["old"])


def test_a_named_branch_is_a_revision(hub, cache, other_checkpoint, local_logits):
    hub.add_revision(REPO, other_checkpoint, revision="v1")
    assert np.array_equal(logits_of(hub_load(hub, cache, revision="v1")), local_logits["old"])
    hub.stop()
    assert np.array_equal(logits_of(hub_load(hub, cache, revision="v1")), local_logits["old"])


def test_progress_bar_is_shown_and_can_be_hidden(hub, tmp_path, capsys, monkeypatch):
    hub_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")  # the module, not the class of that name
    monkeypatch.setattr(hub_tqdm, "HF_HUB_DISABLE_PROGRESS_BARS", None)  # whatever the environment says
    monkeypatch.setenv("TQDM_POSITION", "-1")  # tqdm hides bars when stderr is not a terminal; force them
    load_model(REPO, endpoint=hub.endpoint, cache_dir=tmp_path / "a")
    shown = capsys.readouterr().err
    assert "model.safetensors" in shown and "100%" in shown
    assert "vocab.json" in shown
    load_model(REPO, endpoint=hub.endpoint, cache_dir=tmp_path / "b", progress=False)
    hidden = capsys.readouterr().err
    assert "model.safetensors" not in hidden and "%" not in hidden
    assert hub.downloads().count("model.safetensors") == 2  # the second load did download, silently
    assert not hub_tqdm.are_progress_bars_disabled()  # progress=False leaves the global setting as it was


def test_interrupted_download_resumes_with_a_range_request(tmp_path, cache, no_retry_wait, monkeypatch):
    """huggingface_hub reads 10 MB chunks and, when a connection breaks, asks for the rest with Range."""
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    config = GPT2Config(n_vocab=50257, n_ctx=32, n_embd=64, n_head=2, n_layer=1)  # wte alone is 12.9 MB
    checkpoint = write_random_checkpoint(tmp_path / "wide-vocab", config, seed=3)
    size = (checkpoint / "model.safetensors").stat().st_size
    assert size > huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE
    with FakeHub() as hub:
        hub.add_revision(REPO, checkpoint)
        hub.fail_next(method="GET", filename="model.safetensors", truncate_at=size - 1000)
        model = hub_load(hub, cache)
        ranges = [r.range for r in hub.requests if r.method == "GET" and r.filename == "model.safetensors"]
    assert ranges == [None, f"bytes={huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE}-"]
    assert np.array_equal(logits_of(model), logits_of(load_model(checkpoint)))


# -- the Hub cannot be reached, or says no -------------------------------------------------------------


def assert_names_files_and_local_directory(message: str) -> None:
    assert f"'{REPO}'" in message
    for name in FILES:
        assert name in message
    assert "load_model('./tiny-gpt2')" in message  # how to pass a local directory instead
    assert "directory" in message


def test_offline_mode_with_nothing_cached(hub, cache, monkeypatch):
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache)
    assert_names_files_and_local_directory(str(error.value))
    assert "HF_HUB_OFFLINE" in str(error.value)
    assert hub.count() == 0


def test_offline_mode_uses_the_cache(hub, cache, local_logits, monkeypatch):
    hub_load(hub, cache)
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    hub.reset_counts()
    assert np.array_equal(logits_of(hub_load(hub, cache)), local_logits["main"])
    assert hub.count() == 0


def test_unreachable_hub_with_nothing_cached(hub, cache, no_retry_wait):
    hub.stop()
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache)
    message = str(error.value)
    assert_names_files_and_local_directory(message)
    assert f"cannot reach {hub.endpoint}" in message and "Connection refused" in message
    assert str(cache) in message
    # huggingface_hub 2.4 retries first: 5 times, waiting 1+2+4+8+8 s (not slept here, see no_retry_wait).


def test_local_files_only_with_nothing_cached(hub, cache):
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, local_files_only=True)
    assert_names_files_and_local_directory(str(error.value))
    assert "local_files_only=True" in str(error.value)
    assert hub.count() == 0


def test_unknown_repository(hub, cache):
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, repo="org/no-such-model")
    message = str(error.value)
    assert "no model 'org/no-such-model'" in message and "check the name" in message
    assert "openai-community/gpt2" in message  # an example of a valid id
    assert "local directory" in message  # 'org/no-such-model' may have been meant as a path


def test_unknown_revision(hub, cache):
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, revision="v9")
    assert f"'{REPO}' has no revision 'v9'" in str(error.value)


def test_gated_repository(hub, cache):
    hub.gate(REPO)
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache)
    assert "gated" in str(error.value) and "log in" in str(error.value)


def test_server_error_says_so_rather_than_offline(hub, cache, no_retry_wait):
    hub.fail_next(method="HEAD", filename="config.json", status=500, times=100)
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache)
    assert "500" in str(error.value) and "Internal Server Error" in str(error.value)
    assert "Try again later" in str(error.value) and "Connect to the internet" not in str(error.value)


def test_connection_breaking_for_good_mid_download(hub, cache, no_retry_wait):
    hub.fail_next(method="GET", filename="vocab.json", truncate_at=10, times=100)
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache)
    message = str(error.value)
    assert "connection to the Hugging Face Hub broke while downloading vocab.json" in message
    assert "run again" in message


def test_disk_full_is_not_reported_as_a_network_problem(hub, cache, monkeypatch):
    """Errors that are not about the model pass through unchanged (never "you are offline")."""
    import errno

    import huggingface_hub.file_download

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(huggingface_hub.file_download, "http_get", full_disk)
    with pytest.raises(OSError) as error:
        hub_load(hub, cache)
    assert error.value.errno == errno.ENOSPC and not isinstance(error.value, ModelNotAvailableError)


def test_invalid_repository_id(hub, cache):
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, repo="not a model!")
    assert "'not a model!' is neither a directory nor a valid Hugging Face id" in str(error.value)
    assert hub.count() == 0


def test_repository_without_weights(hub, cache, tiny_checkpoint):
    hub.add_revision("org/no-weights", tiny_checkpoint, only=("config.json", "vocab.json", "merges.txt"))
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, repo="org/no-weights")
    message = str(error.value)
    assert "'org/no-weights' has no weights: neither model.safetensors nor pytorch_model.bin" in message


def test_repository_without_tokenizer(hub, cache, tiny_checkpoint):
    hub.add_revision("org/no-vocab", tiny_checkpoint, only=("config.json", "model.safetensors", "merges.txt"))
    with pytest.raises(ModelNotAvailableError) as error:
        hub_load(hub, cache, repo="org/no-vocab")
    assert "'org/no-vocab' has no vocab.json" in str(error.value)


def test_repository_that_is_not_gpt2_fails_before_downloading_weights(hub, cache, tiny_checkpoint):
    files = {path.name: path.read_bytes() for path in tiny_checkpoint.iterdir()}
    files["config.json"] = json.dumps({**json.loads(files["config.json"]), "model_type": "llama"}).encode()
    hub.add_revision("org/llama", files)
    with pytest.raises(WeightsError, match="model_type 'gpt2'.*got model_type 'llama'"):
        hub_load(hub, cache, repo="org/llama")
    assert hub.count(filename="model.safetensors") == 0


def test_repository_with_only_pytorch_model_bin(hub, cache, tiny_checkpoint, local_logits):
    torch = pytest.importorskip("torch", reason="reading pytorch_model.bin needs PyTorch")
    files = {name: (tiny_checkpoint / name).read_bytes() for name in ("config.json", "vocab.json", "merges.txt")}
    bin_path = cache.parent / "pytorch_model.bin"
    torch.save({name: torch.from_numpy(value) for name, value in read_tensors(tiny_checkpoint).items()}, bin_path)
    files["pytorch_model.bin"] = bin_path.read_bytes()
    hub.add_revision("org/bin-only", files)
    model = hub_load(hub, cache, repo="org/bin-only")
    assert np.array_equal(logits_of(model), local_logits["main"])
    assert hub.count(filename="pytorch_model.bin", method="GET") == 1
    # From the cache, which remembers that this revision has no model.safetensors.
    assert np.array_equal(logits_of(hub_load(hub, cache, repo="org/bin-only", local_files_only=True)),
                          local_logits["main"])
    hub.stop()
    assert np.array_equal(logits_of(hub_load(hub, cache, repo="org/bin-only")), local_logits["main"])


# -- a local directory -------------------------------------------------------------------------------


def test_local_directory_missing(tmp_path):
    with pytest.raises(ModelNotAvailableError) as error:
        load_model(tmp_path / "nowhere")
    message = str(error.value)
    assert f"no directory at {tmp_path / 'nowhere'}" in message
    assert all(name in message for name in FILES) and "openai-community/gpt2" in message


def test_local_directory_lacking_files(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "partial")
    (directory / "vocab.json").unlink()
    (directory / "model.safetensors").unlink()
    with pytest.raises(ModelNotAvailableError) as error:
        load_model(directory)
    message = str(error.value)
    assert f"{directory} lacks vocab.json, model.safetensors (or pytorch_model.bin)" in message
    assert "merges.txt," not in message.split("(a GPT-2")[0]  # only the missing files are listed as missing


def test_sharded_checkpoint_is_named(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "sharded")
    (directory / "model.safetensors").rename(directory / "model-00001-of-00001.safetensors")
    (directory / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    with pytest.raises(ModelNotAvailableError, match="sharded checkpoints .* are not supported"):
        load_model(directory)


def test_relative_path_and_string_path(tiny_checkpoint, tmp_path, monkeypatch, local_logits):
    copy_checkpoint(tiny_checkpoint, tmp_path / "models" / "mine")
    monkeypatch.chdir(tmp_path)
    for source in ("models/mine", "./models/mine", str(tmp_path / "models" / "mine")):
        assert np.array_equal(logits_of(load_model(source)), local_logits["main"]), source


@pytest.mark.parametrize("change, expected", [
    ({"model_type": "bert"}, "expected a GPT-2 checkpoint (model_type 'gpt2'), got model_type 'bert'"),
    ({"activation_function": "relu"}, "unsupported activation_function 'relu'"),
    ({"n_head": 0}, "config n_head must be a positive integer, got 0"),
    ({"n_head": 3}, "n_embd (64) must be divisible by n_head (3)"),
    ({"n_embd": "64"}, "config.json's 'n_embd' must be an integer, got '64'"),
    ({"vocab_size": None}, "config.json has no 'vocab_size' entry"),
    ({"scale_attn_by_inverse_layer_idx": True}, "unsupported config option scale_attn_by_inverse_layer_idx=True"),
])
def test_config_that_gpt2_cannot_run(tiny_checkpoint, tmp_path, change, expected):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "bad-config")
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert expected in str(error.value)


@pytest.mark.parametrize("text, expected", [("{not json", "cannot read config"), ("[1, 2]", "JSON object")])
def test_config_that_is_not_a_settings_object(tiny_checkpoint, tmp_path, text, expected):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "bad-config")
    (directory / "config.json").write_text(text)
    with pytest.raises(WeightsError, match=expected):
        load_model(directory)


def test_missing_tensor_is_named(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "missing-tensor")
    tensors = read_tensors(directory)
    del tensors["transformer.h.1.mlp.c_fc.bias"]
    write_tensors(directory, tensors)
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert "no tensor 'h.1.mlp.c_fc.bias' (expected shape (256,))" in str(error.value)


def test_wrong_shape_names_the_tensor_and_both_shapes(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "wrong-shape")
    tensors = read_tensors(directory)
    tensors["transformer.h.0.attn.c_attn.weight"] = tensors["transformer.h.0.attn.c_attn.weight"][:, :191].copy()
    write_tensors(directory, tensors)
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert "tensor 'h.0.attn.c_attn.weight'" in str(error.value)
    assert "(64, 191)" in str(error.value) and "(64, 192)" in str(error.value)


def test_more_layers_than_the_config_says(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "extra-layer")
    tensors = read_tensors(directory)
    tensors.update({name.replace(".h.1.", ".h.2."): value for name, value in tensors.items() if ".h.1." in name})
    write_tensors(directory, tensors)
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert "layer 2" in str(error.value) and "n_layer=2" in str(error.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_named(tiny_checkpoint, tmp_path, bad):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "non-finite")
    tensors = read_tensors(directory)
    tensors["transformer.h.1.ln_2.weight"][7] = bad
    write_tensors(directory, tensors)
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert "tensor 'h.1.ln_2.weight'" in str(error.value) and "NaN or infinite" in str(error.value)


@pytest.mark.parametrize("corrupt", ["truncated", "empty", "html-page"])
def test_corrupt_safetensors(tiny_checkpoint, tmp_path, corrupt):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "corrupt")
    path = directory / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"",
                      "html-page": b"<!DOCTYPE html><html><body>Access denied</body></html>"}[corrupt])
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert str(path) in str(error.value) and "truncated or corrupt" in str(error.value)
    assert "download it again" in str(error.value)


def test_corrupt_pytorch_model_bin(tiny_checkpoint, tmp_path):
    pytest.importorskip("torch", reason="reading pytorch_model.bin needs PyTorch")
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "corrupt-bin")
    (directory / "model.safetensors").unlink()
    (directory / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        load_model(directory)


@pytest.mark.parametrize("prefixed", [True, False])
def test_names_with_or_without_the_transformer_prefix(tiny_checkpoint, tmp_path, prefixed, local_logits):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "prefix")
    tensors = {name.removeprefix("transformer."): value for name, value in read_tensors(directory).items()}
    if prefixed:
        tensors = {f"transformer.{name}": value for name, value in tensors.items()}
    write_tensors(directory, tensors)
    assert np.array_equal(logits_of(load_model(directory)), local_logits["main"])


def test_untied_lm_head_is_used(tiny_checkpoint, tmp_path, local_logits):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "untied")
    tensors = read_tensors(directory)
    lm_head = np.random.default_rng(5).standard_normal(tensors["transformer.wte.weight"].shape).astype(np.float32)
    write_tensors(directory, {**tensors, "lm_head.weight": lm_head})
    model = load_model(directory)
    ids = model.encode(PROMPT)
    trace = model.run_with_trace(ids)
    expected = trace["ln_final.hook_out"] @ lm_head.T
    np.testing.assert_allclose(model.forward(ids), expected, atol=1e-4, rtol=1e-4)
    assert not np.allclose(model.forward(ids), local_logits["main"], atol=1e-2)


def write_raw_safetensors(path: Path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]]) -> None:
    """A safetensors file written by hand: {name: (dtype tag, shape, raw little-endian bytes)}."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header_bytes = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes
                     + b"".join(data for _, _, data in tensors.values()))


def bfloat16_safetensors(tensors: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """Write ``tensors`` as bfloat16 (NumPy has no bfloat16: its top 16 bits of float32); return the float32
    values the file holds."""
    bits = {name: (np.ascontiguousarray(value, dtype=np.float32).view(np.uint32) >> 16).astype("<u2")
            for name, value in tensors.items()}
    write_raw_safetensors(path, {name: ("BF16", value.shape, value.tobytes()) for name, value in bits.items()})
    return {name: (value.astype(np.uint32) << 16).view(np.float32) for name, value in bits.items()}


def test_half_precision_checkpoints(tiny_checkpoint, tmp_path):
    """Checkpoints saved in float16 or bfloat16 load, widened exactly to float32."""
    tensors = read_tensors(tiny_checkpoint)
    reference = copy_checkpoint(tiny_checkpoint, tmp_path / "reference")
    bf16 = copy_checkpoint(tiny_checkpoint, tmp_path / "bf16")
    held = bfloat16_safetensors(tensors, bf16 / "model.safetensors")
    write_tensors(reference, held)
    assert np.array_equal(logits_of(load_model(bf16)), logits_of(load_model(reference)))

    fp16 = copy_checkpoint(tiny_checkpoint, tmp_path / "fp16")
    write_tensors(fp16, {name: value.astype(np.float16) for name, value in tensors.items()})
    write_tensors(reference, {name: value.astype(np.float16).astype(np.float32) for name, value in tensors.items()})
    assert np.array_equal(logits_of(load_model(fp16)), logits_of(load_model(reference)))


@pytest.mark.parametrize("dtype, itemsize, expected", [
    ("I16", 2, "'wte.weight' .* has dtype int16, expected a float type"),
    ("F8_E4M3", 1, "wte.weight' .* has dtype F8_E4M3, which gpt2_core cannot read"),
])
def test_weights_of_a_dtype_gpt2_core_cannot_use(tiny_checkpoint, tmp_path, dtype, itemsize, expected):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / dtype)
    tensors = {name: (dtype if name.endswith("wte.weight") else "F32", value.shape,
                      value.astype(f"<u{itemsize}").tobytes() if name.endswith("wte.weight") else value.tobytes())
               for name, value in read_tensors(directory).items()}
    write_raw_safetensors(directory / "model.safetensors", tensors)
    with pytest.raises(WeightsError, match=expected):
        load_model(directory)


def test_tokenizer_bigger_than_the_model_vocabulary(tiny_checkpoint, tmp_path):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "big-tokenizer")
    vocab, merges = train_tiny_bpe(n_merges=300)
    write_tokenizer_files(directory, vocab, merges)
    n_vocab = json.loads((tiny_checkpoint / "config.json").read_text())["vocab_size"]
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    message = str(error.value)
    assert f"has {len(vocab)} tokens" in message and f"vocab_size {n_vocab}" in message
    assert "not from the same checkpoint" in message


@pytest.mark.parametrize("file, content, expected", [
    ("vocab.json", "{oops", "cannot read the tokenizer vocabulary"),
    ("vocab.json", '["a", "b"]', "not a GPT-2 vocabulary"),
    ("vocab.json", '{"a": 0, "b": 1}', "lacks 254 of the 256 byte symbols"),
    ("merges.txt", "#version: 0.2\nĠ t\nthree symbols here\n", "line 3 is not a merge"),
])
def test_broken_tokenizer_files(tiny_checkpoint, tmp_path, file, content, expected):
    directory = copy_checkpoint(tiny_checkpoint, tmp_path / "bad-tokenizer")
    (directory / file).write_text(content, encoding="utf-8")
    with pytest.raises(WeightsError, match=expected):
        load_model(directory)


@pytest.mark.parametrize("source", ["", "   ", 42, None])
def test_source_that_is_not_a_model(source):
    with pytest.raises(ModelNotAvailableError, match="Hugging Face id"):
        load_model(source)


# -- Pyodide: gpt2_core imports without the download and file libraries --------------------------------


def test_import_gpt2_core_loads_no_download_or_file_library():
    code = ("import sys, transformer_explainer.gpt2_core; "
            "print(sorted(m for m in ('huggingface_hub', 'safetensors', 'torch', 'transformers', 'httpx2', 'httpx', "
            "'requests', 'tqdm') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"


# -- a checkpoint written by transformers' save_pretrained -----------------------------------------------


@pytest.mark.parity
@pytest.mark.parametrize("tied, dtype", [(True, "float32"), (False, "float32"), (True, "bfloat16")])
def test_transformers_save_pretrained_checkpoint(tmp_path, tied, dtype):
    """A checkpoint written by transformers itself (tied or untied lm_head, float32 or bfloat16) gives
    transformers' logits."""
    pytest.importorskip("torch", reason="needs PyTorch")
    transformers = pytest.importorskip("transformers", reason="needs transformers")
    import torch
    vocab, merges = train_tiny_bpe()
    torch.manual_seed(0)
    hf_config = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, n_positions=64, vocab_size=len(vocab),
                                        tie_word_embeddings=tied)
    reference = transformers.GPT2LMHeadModel(hf_config).eval()
    if dtype == "bfloat16":  # saved in bfloat16; compared with the float32 model holding the same values
        reference.to(torch.bfloat16).save_pretrained(tmp_path)
        reference.to(torch.float32)
    else:
        reference.save_pretrained(tmp_path)
    write_tokenizer_files(tmp_path, vocab, merges)
    assert (tmp_path / "model.safetensors").is_file()
    model = load_model(tmp_path)
    ids = model.encode(PROMPT)
    with torch.no_grad():
        expected = reference(torch.tensor([ids])).logits[0].numpy()
    assert np.abs(model.forward(ids) - expected).max() <= 1e-4
