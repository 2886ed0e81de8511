"""The command line: find the wrong labels in a table, or drop them."""

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

DESCRIPTION = """\
Find the rows of a table whose label is probably wrong, or write the table
without them. Reads CSV (or Parquet); numeric columns are standardised,
text columns one-hot encoded, missing values filled (median, or the most
common value). A neural network is trained on the table while counting how
often each row disagrees with its label.

examples:
  skwrongevent find-issues data.csv --label species
  skwrongevent find-issues data.csv --label species --out issues.csv --plot issues.png
  skwrongevent clean data.csv --label species --out cleaned.csv
"""
# A text column with more distinct values than this share of the rows is an identifier or free
# text: one-hot encoding it would give every row a column of its own.
MAX_CATEGORY_SHARE = 0.5


class InputError(ValueError):
    """A problem with the user's file or options, reported in one line."""


def main(argv=None):
    """Run the ``skwrongevent`` command.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 for bad input.

    Examples
    --------
    >>> from skwrongevent._cli import main
    >>> main(["find-issues", "no-such-file.csv", "--label", "y"])  # the error goes to stderr
    2
    """
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (InputError, ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"skwrongevent: error: {message}", file=sys.stderr)
        return 2
    return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="skwrongevent",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    find = commands.add_parser(
        "find-issues",
        help="list the rows whose label is probably wrong",
        description="List the rows whose label is probably wrong, most likely wrong first.",
    )
    _add_common(find)
    find.add_argument("--out", type=Path, help="write the report for every row to this CSV file")
    find.add_argument("--plot", type=Path, help="save a picture of the verdict (needs matplotlib)")
    find.set_defaults(run=_find_issues)
    clean = commands.add_parser(
        "clean",
        help="write the table without the rows whose label is probably wrong",
        description="Write the input table without the rows whose label is probably wrong.",
    )
    _add_common(clean)
    clean.add_argument("--out", type=Path, required=True, help="CSV file to write")
    clean.set_defaults(run=_clean)
    return parser


def _add_common(parser):
    parser.add_argument("path", type=Path, help="a CSV file (or .parquet)")
    parser.add_argument("--label", required=True, help="the column holding the labels")
    parser.add_argument(
        "--drop", nargs="+", default=[], metavar="COLUMN", help="columns to leave out (ids, ...)"
    )
    parser.add_argument(
        "--epochs", type=_positive_int, default=40, help="training epochs (default: 40)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _check_outputs(args):
    """Refuse paths that cannot be written before training, not after it."""
    for option, path in [("--out", args.out), ("--plot", getattr(args, "plot", None))]:
        if path is None:
            continue
        if path.is_dir():
            raise InputError(f"{option} {path} is a folder; give a file name")
        if not path.parent.is_dir():
            raise InputError(f"{option} {path}: no folder {path.parent}")
        if not os.access(path.parent, os.W_OK):
            raise InputError(f"{option} {path}: cannot write in {path.parent}")
    if getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError("--plot needs matplotlib: pip install matplotlib") from None


def _find_issues(args):
    table, clf = _fit(args)
    report = clf.get_label_issues().sort_values("label_quality", kind="stable").rename_axis("row")
    if args.out:
        report.to_csv(args.out)
    if args.plot:
        _plot(clf, args.plot)
    _summary(clf, len(table))
    flagged = report[report["is_label_issue"]]
    columns = ["margin", "given_label", "suggested_label"]
    if len(flagged):
        print("\nmost likely wrong (rows are numbered from 0, header excluded):\n")
        print(flagged[columns].head(20).to_string(float_format="{:.3f}".format))
    if args.out:
        print(f"\nreport for every row, most likely wrong first: {args.out}")


def _clean(args):
    table, clf = _fit(args)
    table[~clf.noise_mask_].to_csv(args.out, index=False)
    _summary(clf, len(table))
    print(f"\nwrote {int((~clf.noise_mask_).sum())} rows to {args.out}")


def _fit(args):
    _check_outputs(args)
    table = _read(args.path)
    X, y = _features_and_labels(table, args.label, args.drop)
    from ._classifier import WrongEventClassifier

    callbacks = [] if args.quiet else [("progress", _Progress())]
    clf = WrongEventClassifier(max_epochs=args.epochs, random_state=args.seed, callbacks=callbacks)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        clf.fit(X, y)
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            print(f"note: {warning.message}", file=sys.stderr)
    return table, clf


def _read(path):
    import pandas as pd

    if not path.exists():
        raise InputError(f"no such file: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except ImportError as error:
        raise InputError(f"cannot read {path}: {error}") from None
    if table.empty:
        raise InputError(f"{path} has no data rows")
    return table


def _features_and_labels(table, label, drop):
    missing = [name for name in [label, *drop] if name not in table.columns]
    if missing:
        raise InputError(
            f"no column {missing[0]!r}; the columns are: {', '.join(map(str, table.columns))}"
        )
    y = table[label]
    if y.isna().any():
        raise InputError(
            f"the label column {label!r} is empty in {int(y.isna().sum())} rows "
            f"(first: row {int(np.flatnonzero(y.isna())[0])}); fill or remove them"
        )
    if y.nunique() < 2:
        raise InputError(f"the label column {label!r} has one class only ({y.iloc[0]!r})")
    features = table.drop(columns=[label, *drop])
    if features.shape[1] == 0:
        raise InputError("there are no feature columns besides the label")
    return _preprocess(features), y.to_numpy()


def _preprocess(features):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = features.select_dtypes("number").columns.tolist()
    text = [name for name in features.columns if name not in numeric]
    for name in text:
        values = features[name].dropna()
        if values.nunique() > MAX_CATEGORY_SHARE * len(features):
            raise InputError(
                f"column {name!r} has {values.nunique()} different text values in "
                f"{len(features)} rows: an id or free text, which cannot be one-hot encoded; "
                f"leave it out with --drop {name}"
            )
    for name in numeric:
        values = features[name].to_numpy()
        if (
            np.isfinite(values).all()
            and (values == np.round(values)).all()
            and len(np.unique(values)) == len(values) == values.max() - values.min() + 1
        ):
            raise InputError(
                f"column {name!r} numbers the rows ({values.min():.0f} to {values.max():.0f}, "
                f"each once): an id, not a feature; leave it out with --drop {name}"
            )
    empty = [name for name in features.columns if features[name].isna().all()]
    if empty:
        raise InputError(f"column {empty[0]!r} is empty; leave it out with --drop {empty[0]}")
    transformer = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                text,
            ),
        ]
    )
    return transformer.fit_transform(features.astype({name: str for name in text})).astype(
        np.float32
    )


def _summary(clf, n_rows):
    flagged = clf.noise_mask_
    print(f"rows: {n_rows}")
    print(f"flagged as probably mislabelled: {int(flagged.sum())}")
    print(f"estimated noise rate: {flagged.mean():.1%}")
    given = clf.given_labels_
    shares = {label: flagged[given == label].mean() for label in np.unique(given)}
    worst = sorted(shares.items(), key=lambda item: -item[1])[:3]
    print(
        "classes most affected: "
        + ", ".join(f"{label} ({share:.0%} of its rows)" for label, share in worst)
    )


def _plot(clf, path):
    import matplotlib

    matplotlib.use("Agg")
    from ._plotting import WrongEventDisplay

    display = WrongEventDisplay.from_estimator(clf)
    display.figure_.savefig(path, bbox_inches="tight")


class _Progress(Callback):
    """One line of progress per epoch, on stderr."""

    def on_epoch_end(self, net, **kwargs):
        stage = "counting" if net.history[-1, "stage"] == 1 else "robust training"
        line = f"epoch {len(net.history)}/{net.max_epochs} ({stage})"
        if sys.stderr.isatty():  # one line, rewritten
            print(f"\r{line}  ", end="", file=sys.stderr, flush=True)
        elif len(net.history) % 10 == 0:
            print(line, file=sys.stderr)

    def on_train_end(self, net, **kwargs):
        if sys.stderr.isatty():
            print(file=sys.stderr)
