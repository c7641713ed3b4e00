"""Reads a kbnn run file or prediction file (docs/output.md) for the postprocessing tools.

One place checks that a file is a kbnn run file (kbnn train) or prediction file (kbnn
predict) and says clearly what is missing, so that every tool fails the same way:
RunFileError, whose message names the file.
"""
import os

import numpy as np

try:
    import h5py
except ImportError as error:  # pragma: no cover - depends on the installation
    raise SystemExit(
        "kbnn postprocess needs h5py, numpy and matplotlib "
        "(Debian: apt-get install python3-h5py python3-matplotlib): " + str(error)
    )

# Class names for the data sets kbnn's decks use, recognised from the deck's data.dir.
CLASS_NAMES = {
    "fashion": ["T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Boot"],
    "cifar": ["airplane", "automobile", "bird", "cat", "deer",
              "dog", "frog", "horse", "ship", "truck"],
}


class RunFileError(Exception):
    """The file is not a kbnn run file, or lacks what a tool needs."""


def _require_hdf5(path, kind):
    """RunFileError unless `path` is an HDF5 file; `kind` names what it should be."""
    if not os.path.exists(path):
        raise RunFileError(f"{path}: no such file")
    if os.path.isdir(path) or not h5py.is_hdf5(path):
        raise RunFileError(f"{path}: not an HDF5 file, so not a {kind}")


def _other_kind(path, f):
    """What a kbnn file that is neither a run file nor a prediction file is, and what reads
    it instead (src/app/file_kind.cpp tells the kinds apart the same way); None if unknown."""
    if isinstance(f.get("pruning"), h5py.Group):
        return (f"a pruning file of kbnn prune, not a run file: "
                f"'kbnn_plots.py pruning {path}' plots it")
    if isinstance(f.get("steps"), h5py.Group) and isinstance(f.get("initial"), h5py.Group):
        return ("a step dump (debug.dump_file), not a run file: nothing here plots it; "
                "tests/scripts/torch_replay.py replays it")
    pruned_ensemble = isinstance(f.get("members"), h5py.Group) and "deck" not in f.attrs
    if isinstance(f.get("checkpoint"), h5py.Group) or pruned_ensemble:
        return ("a checkpoint, not a run file: it holds no history or predictions; the run "
                "file beside it has them, and 'kbnn predict' makes a prediction file from it")
    return None


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


class RunFile:
    """A validated kbnn run file or prediction file, read whole on opening (they are small).

    Attributes: path, name (file name without .h5), attrs (root attributes),
    history (dict field -> 1-D array; empty in a prediction file), eval (the same for
    /history/eval; empty without evaluations during training), deck (dict
    "section.key" -> text), is_prediction_file, temperature (the T its predictions were
    tempered by, /calibration; 1.0 without).
    metrics(), reliability(), predictions(), ood_sets() and ood_scores() read the
    evaluated sets on demand.
    """

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        _require_hdf5(path, "kbnn run file")
        with h5py.File(path, "r") as f:
            has_history = isinstance(f.get("history"), h5py.Group)
            # kbnn predict's file: the run file's /predictions and /metrics, no history.
            self.is_prediction_file = not has_history and isinstance(f.get("predictions"), h5py.Group)
            other = None if has_history or self.is_prediction_file else _other_kind(path, f)
            if other:
                raise RunFileError(f"{path}: {other}")
            if "kbnn_version" not in f.attrs or not (has_history or self.is_prediction_file):
                raise RunFileError(
                    f"{path}: an HDF5 file but not a kbnn run file "
                    "(it needs the root attribute kbnn_version and the group /history, or "
                    "/predictions in a file of kbnn predict)")
            self.attrs = {key: f.attrs[key] for key in f.attrs}
            history = f["history"] if has_history else {}
            # /history/eval (evaluations during training) is a group of its own.
            self.history = {key: value[:] for key, value in history.items()
                            if isinstance(value, h5py.Dataset)}
            evaluations = history.get("eval", {})
            self.eval = {key: evaluations[key][:] for key in evaluations}
            self.eval_set = _text(evaluations.attrs.get("set", "")) if len(self.eval) else ""
            self._metrics = {}
            self._ood = {}
            for set_name, group in f.get("metrics", {}).items():
                if set_name == "ood":  # /metrics/ood/<set>: how each score separates it
                    self._ood = {name: {key: (_text(v) if isinstance(v, (bytes, str)) else v)
                                        for key, v in g.attrs.items()}
                                 for name, g in group.items()}
                    continue
                entry = {key: float(group.attrs[key]) for key in group.attrs
                         if key not in ("description", "units")}
                entry.update({key: group[key][:] for key in group})
                self._metrics[set_name] = entry
            self._prediction_sets = list(f.get("predictions", {}).keys())
            calibration = f.get("calibration")
            self.temperature = float(calibration.attrs["temperature"]) if calibration else 1.0
            # train.early_stop: the run keeps the best evaluation's model, at this step.
            checkpoint = f.get("checkpoint")
            self.kept_step = (int(checkpoint.attrs["step"]) if isinstance(checkpoint, h5py.Group)
                              and "trained_to" in checkpoint.attrs else None)
        self.deck = _parse_deck(_text(self.attrs.get("deck", "")))

    @property
    def ranks(self):
        return int(self.attrs.get("ranks", 0))

    @property
    def is_regression(self):
        """A model with a Gaussian likelihood: real targets, regression metrics."""
        return (self.deck.get("model.likelihood", "categorical").startswith("gaussian")
                or any("rmse" in m for m in self._metrics.values()))

    def refuse_regression(self, what):
        """For the tools of classes: a regression's counterpart is named instead."""
        if self.is_regression:
            raise RunFileError(
                f"{self.path}: a regression (model.likelihood = "
                f"{self.deck.get('model.likelihood', 'gaussian')}) has no {what}; "
                "'kbnn_plots.py regression' draws its predictions, interval calibration "
                "and residuals")

    def require_history(self, fields):
        if "ensemble_groups" in self.attrs:  # a trained ensemble's run file
            raise RunFileError(f"{self.path}: an ensemble's run file has no training history "
                               "of its own: 'kbnn_plots.py members' draws its members' training")
        if self.is_prediction_file:
            raise RunFileError(f"{self.path}: a prediction file of kbnn predict has no training "
                               "history: give the run file; 'kbnn_plots.py reliability', "
                               "'uncertainty' and 'ood' plot a prediction file")
        missing = [key for key in fields if key not in self.history]
        if missing:
            raise RunFileError(f"{self.path}: /history lacks {', '.join(missing)}")
        if len(self.history["step"]) == 0:
            raise RunFileError(f"{self.path}: /history is empty (no step was logged yet)")

    def metrics(self, set_name="test"):
        """The scalar metrics of /metrics/<set> (attributes) and its bin_* datasets."""
        if set_name not in self._metrics:
            if set_name in self._prediction_sets:  # predicted, but nothing to score it by
                raise RunFileError(
                    f"{self.path}: no /metrics/{set_name}: the set '{set_name}' has no labels "
                    "or targets, so it has predictions only ('kbnn_plots.py uncertainty' "
                    "draws them)")
            raise RunFileError(
                f"{self.path}: no /metrics/{set_name}: the run did not reach evaluation")
        return self._metrics[set_name]

    def reliability(self, set_name="test"):
        """(edges, count, confidence, accuracy) of the calibration bins."""
        m = self.metrics(set_name)
        keys = ("bin_edges", "bin_count", "bin_confidence", "bin_accuracy")
        if any(key not in m for key in keys):
            raise RunFileError(
                f"{self.path}: /metrics/{set_name} has no reliability bins (bin_edges, "
                "bin_count, ...): it was written by a kbnn older than these; a run made "
                "with this kbnn has them")
        return tuple(np.asarray(m[key]) for key in keys)

    def predictions(self, set_name="test"):
        """dict of the /predictions/<set> datasets, each a numpy array."""
        if set_name not in self._prediction_sets:
            raise RunFileError(
                f"{self.path}: no /predictions/{set_name} "
                "(the run was made with output.write_predictions = false, or did not finish)")
        with h5py.File(self.path, "r") as f:
            group = f["predictions"][set_name]
            return {key: group[key][:] for key in group if isinstance(group[key], h5py.Dataset)}

    def ood_sets(self):
        """The OOD sets scored in the file: {name: attributes of /metrics/ood/<name>}."""
        return self._ood

    def ood_scores(self, set_name):
        """{score: per-example values} of /predictions/<set>/ood_scores."""
        with h5py.File(self.path, "r") as f:
            group = f.get("predictions", {}).get(set_name, {}).get("ood_scores")
            if group is None:
                raise RunFileError(
                    f"{self.path}: no /predictions/{set_name}/ood_scores (the run was made "
                    "with output.write_predictions = false)")
            return {key: group[key][:] for key in group}

    def class_names(self, classes):
        """Names of the classes: the file's own (the root attribute class_names, which kbnn
        writes where the training data names its classes: an HDF5 file's class_names,
        CIFAR-10), else those of a known data set the deck reads, else their indices."""
        stored = [_text(name) for name in self.attrs.get("class_names", [])]
        if len(stored) == classes:
            return stored
        where = self.deck.get("data.dir", "").lower() + self.deck.get("data.format", "").lower()
        for key, names in CLASS_NAMES.items():
            if key in where and len(names) == classes:
                return names
        return [str(k) for k in range(classes)]


def _parse_deck(text):
    """The resolved INI deck as {"section.key": value} (repeated keys: the last one)."""
    deck, section = {}, ""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            deck[f"{section}.{key}"] = value
    return deck


def open_run(path):
    """RunFile(path); raises RunFileError naming the file if it is not a run file."""
    try:
        return RunFile(path)
    except OSError as error:  # unreadable, truncated, locked
        raise RunFileError(f"{path}: cannot be read as a kbnn run file: {error}") from None


class EnsembleFile:
    """A kbnn ensemble's run file (docs/output.md, "Ensembles"), read whole on opening.

    Attributes: path, name, attrs (root attributes), members (one dict per member, in
    order: seed, group, history {field: array}, metrics {set: {attribute: value}}, ood
    {set: {attribute: value}}), metrics and ood (the mixture's, likewise).
    predictions(set) reads the mixture's /predictions/<set> on demand.
    """

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        _require_hdf5(path, "kbnn ensemble run file")
        with h5py.File(path, "r") as f:
            if "ensemble_members" not in f.attrs or not isinstance(f.get("members"), h5py.Group):
                raise RunFileError(
                    f"{path}: not a kbnn ensemble run file (it needs the root attribute "
                    "ensemble_members and the group /members: kbnn train with "
                    "parallel.ensemble > 1 writes one)")
            self.attrs = {key: f.attrs[key] for key in f.attrs}
            self.metrics, self.ood = _metrics_of(f)
            self.members = []
            for key in sorted(f["members"], key=int):
                m = f["members"][key]
                metrics, ood = _metrics_of(m)
                self.members.append({
                    "member": int(key), "group": int(m.attrs.get("group", 0)),
                    "seed": int(m["checkpoint"].attrs["seed"]) if "checkpoint" in m else None,
                    "history": {k: v[:] for k, v in m.get("history", {}).items()
                                if isinstance(v, h5py.Dataset)},
                    "metrics": metrics, "ood": ood})
            self._prediction_sets = list(f.get("predictions", {}).keys())

    def predictions(self, set_name):
        if set_name not in self._prediction_sets:
            raise RunFileError(f"{self.path}: no /predictions/{set_name} "
                               "(output.write_predictions = false?)")
        with h5py.File(self.path, "r") as f:
            group = f["predictions"][set_name]
            return {key: group[key][:] for key in group if isinstance(group[key], h5py.Dataset)}


def _metrics_of(group):
    """({set: scalar attributes of /metrics/<set>}, {OOD set: attributes of
    /metrics/ood/<set>}) of a run file's root or of one of an ensemble's members."""
    metrics, ood = {}, {}
    for name, g in group.get("metrics", {}).items():
        target = ood if name == "ood" else metrics
        for set_name, attrs in ((name, g.attrs),) if name != "ood" else \
                ((k, v.attrs) for k, v in g.items()):
            target[set_name] = {k: attrs[k] for k in attrs if k not in ("description", "units")}
    return metrics, ood


def open_ensemble(path):
    """EnsembleFile(path); raises RunFileError naming the file if it is not one."""
    try:
        return EnsembleFile(path)
    except OSError as error:
        raise RunFileError(f"{path}: cannot be read as a kbnn ensemble run file: {error}") from None

