"""`gru-search run --task forecasting`, predict and export, in-process on tiny series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from gru_search import GRUForecaster, load
from gru_search.cli import main
from gru_search.export import read_metadata

HORIZON = 4
SALES_COLUMNS = ("--series", "store", "--time", "month", "--target", "sales")

TINY_FORECASTING = {
    "task": "forecasting",
    "name": "tiny-forecasting",
    "layers": {
        "count": {"type": "int", "low": 1, "high": 1},
        "units": {"type": "categorical", "choices": [8, 16]},
    },
    "params": {"input_size_multiplier": {"type": "categorical", "choices": [1.0, 2.0]}},
    "fixed": {"loss": "mae", "batch_size": 32, "learning_rate": 0.01, "jit_compile": False},
    "training": {"epochs": 4, "pruning_warmup": 2, "finalists": 2, "windows": 2},
}


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "tiny-forecasting.yaml"
    path.write_text(yaml.safe_dump(TINY_FORECASTING))
    return path


def sales_table(n_stores: int = 4, months: int = 40) -> pd.DataFrame:
    """A long CSV as shops keep it: their own column names, dates as text."""
    rng = np.random.default_rng(0)
    t = np.arange(months)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "store": f"store-{i}",
                    "month": pd.date_range("2020-01-01", periods=months, freq="MS").strftime(
                        "%Y-%m-%d"
                    ),
                    "sales": 100
                    + 10 * i
                    + 8 * np.sin(2 * np.pi * t / 12)
                    + rng.normal(size=months),
                }
            )
            for i in range(n_stores)
        ],
        ignore_index=True,
    )


@pytest.mark.slow
def test_run_forecasting_on_a_long_csv_then_predict_and_export(tmp_path, space, capsys):
    csv = tmp_path / "sales.csv"
    sales_table().to_csv(csv, index=False)
    out = tmp_path / "run"
    argv = ["run", "--task", "forecasting", "--horizon", str(HORIZON), "--data", str(csv)]
    argv += [*SALES_COLUMNS, "--space", str(space), "--trials", "3", "--out", str(out)]
    assert main([*argv, "--models", "2"]) == 0
    printed = capsys.readouterr().out
    assert "sales: 4 series of 40-40 values, step MS" in printed
    assert "sales-tiny-forecasting-h4" in printed and "validation mase" in printed

    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns) == ["store", "month", "y_hat"]
    assert len(forecast) == 4 * HORIZON
    assert sorted(set(forecast["month"])) == [
        "2023-05-01",
        "2023-06-01",
        "2023-07-01",
        "2023-08-01",
    ]
    validation = pd.read_csv(out / "validation_forecast.csv")
    assert list(validation.columns) == ["store", "month", "sales", "y_hat"]
    assert set(validation["month"]) == set(sales_table().groupby("store").tail(HORIZON)["month"])
    for name in ("forecast.png", "leaderboard.csv", "summary.json", "model/model.keras"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["horizon"], summary["series"], summary["season_length"]) == (4, 4, 12)
    assert summary["validation_windows"] == 2 and len(summary["finalists"]) == 2
    assert summary["refit"]["models"] == 2 and summary["finished_at"]
    metadata = read_metadata(out / "model")
    assert metadata["origin"]["trial"] == summary["best_trial"]
    assert metadata["origin"]["metric"] == "mase"

    # predict: the next steps of the stored series, the same as the run wrote
    exported = load(out / "model")
    assert isinstance(exported, GRUForecaster) and exported.n_models == 2
    assert (
        main(["predict", "--model", str(out / "model"), "--output", str(tmp_path / "p.csv")]) == 0
    )
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), forecast)
    # ... or of other histories, read with the same column names
    shorter = tmp_path / "shorter.csv"
    sales_table().groupby("store").head(30).to_csv(shorter, index=False)
    argv = ["predict", "--model", str(out / "model"), "--data", str(shorter)]
    assert main([*argv, "--output", str(tmp_path / "q.csv")]) == 0
    assert pd.read_csv(tmp_path / "q.csv")["month"].min() == "2022-07-01"

    # export refits the chosen trial with the seed the run used: the same forecaster
    argv = ["export", "--study", "sales-tiny-forecasting-h4", "--out", str(tmp_path / "again")]
    assert main([*argv, "--storage", f"sqlite:///{out / 'study.db'}"]) == 0
    again = load(tmp_path / "again").predict()
    np.testing.assert_allclose(again["y_hat"], forecast["y_hat"], rtol=1e-4)


def test_run_forecasting_on_aeon_airline_by_default(tmp_path, space, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--task", "forecasting", "--horizon", "12", "--space", str(space)]
    assert main([*argv, "--trials", "1", "--finalists", "1"]) == 0
    printed = capsys.readouterr().out
    assert "airline: 1 series of 144-144 values" in printed
    forecast = pd.read_csv(tmp_path / "runs" / "airline-tiny-forecasting-h12" / "forecast.csv")
    assert list(forecast["ds"])[:2] == ["1961-01-01", "1961-02-01"]
    assert forecast["y_hat"].between(100, 1500).all()  # passengers, in the series' units


SALES_RUN = [
    "run",
    "--task",
    "forecasting",
    "--horizon",
    "3",
    "--data",
    "sales.csv",
    *SALES_COLUMNS,
]
FORECASTING_MISTAKES = [
    (["run", "--task", "forecasting"], "--task forecasting needs --horizon H"),
    (["run", "--horizon", "3"], "--horizon belongs to --task forecasting"),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--workers", "2"],
        "--workers is not supported with --task forecasting",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--space", "quick"],
        "--space quick is a space for labelled sequences",
    ),
    (["run", "--space", "forecasting"], "--space forecasting is a forecasting space"),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--data", "missing.csv"],
        "--data missing.csv: no such file",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--data", "sales.csv"],
        "--data sales.csv has no column 'unique_id'",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "30", "--data", "sales.csv", *SALES_COLUMNS],
        r"series 'store-0' has 40 values; 2 validation window(s) of horizon 30",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--data", "gappy.csv", *SALES_COLUMNS],
        "series 'store-1' has irregular time stamps",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--future-exog", "promo"],
        "--future-exog promo needs --future FILE",
    ),
    (
        ["run", "--task", "forecasting", "--horizon", "3", "--future", "f.csv"],
        "--future holds future covariates: name them with --future-exog",
    ),
    (
        [*SALES_RUN, "--past-exog", "promo"],
        "the table has no column 'promo' (named in past_exog)",
    ),
    (
        [*SALES_RUN, "--past-exog", "sales"],
        "column 'sales' is the target; a covariate is another column",
    ),
    (["run", "--past-exog", "x"], "--past-exog belongs to --task forecasting"),
]


@pytest.mark.parametrize(
    ("argv", "message"),
    FORECASTING_MISTAKES,
    ids=[
        "no horizon",
        "horizon alone",
        "workers",
        "sequence space",
        "forecasting space",
        "missing file",
        "columns",
        "too short",
        "gap",
        "future without file",
        "file without future",
        "missing covariate",
        "target as covariate",
        "covariates without forecasting",
    ],
)
def test_forecasting_mistakes_get_one_line_and_exit_status_2(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    sales_table().to_csv(tmp_path / "sales.csv", index=False)
    gappy = sales_table()
    gappy.drop(index=gappy.index[(gappy["store"] == "store-1")][5]).to_csv(
        tmp_path / "gappy.csv", index=False
    )
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_user_folder_as_out_is_refused_before_the_search_is_prepared(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    table = sales_table()
    short = table[table["store"] == "store-0"].head(8).assign(store="store-new")
    pd.concat([table, short]).to_csv(tmp_path / "sales.csv", index=False)
    users = tmp_path / "mine"
    users.mkdir()
    (users / "notes.txt").write_text("keep me")
    assert main([*SALES_RUN, "--out", str(users)]) == 2
    printed = capsys.readouterr()
    assert "was not created by gru-search run" in printed.err
    # the search's preparation (it reports series too short to validate) never ran
    assert "fewer than" not in printed.out + printed.err
    assert [p.name for p in users.iterdir()] == ["notes.txt"]
    assert (users / "notes.txt").read_text() == "keep me"


def promoted_sales(n_stores: int = 3, months: int = 44) -> pd.DataFrame:
    """Sales that jump by 30 in promotion months (a plan known ahead) at stores of
    different sizes (a static column)."""
    rng = np.random.default_rng(1)
    table = sales_table(n_stores, months)
    table["promo"] = rng.integers(0, 2, len(table))
    table["size"] = table["store"].str[-1].astype(int)
    table["sales"] += 30 * table["promo"]
    return table


@pytest.mark.slow
def test_run_with_future_and_static_covariates_then_predict_and_export(tmp_path, space, capsys):
    table = promoted_sales()
    history = table.groupby("store").head(40)
    plan = table.groupby("store").tail(4)[["store", "month", "promo"]]
    history.to_csv(tmp_path / "sales.csv", index=False)
    plan.to_csv(tmp_path / "plan.csv", index=False)
    out = tmp_path / "run"
    argv = ["run", "--task", "forecasting", "--horizon", str(HORIZON), *SALES_COLUMNS]
    argv += ["--data", str(tmp_path / "sales.csv"), "--space", str(space), "--out", str(out)]
    argv += ["--trials", "2", "--future-exog", "promo", "--static-exog", "size"]
    assert main([*argv, "--future", str(tmp_path / "plan.csv")]) == 0
    forecast = pd.read_csv(out / "forecast.csv")
    assert len(forecast) == 3 * HORIZON and forecast["y_hat"].notna().all()
    exported = load(out / "model")
    assert exported.future_exog == ["promo"] and exported.static_exog == ["size"]

    predict = ["predict", "--model", str(out / "model"), "--output", str(tmp_path / "p.csv")]
    assert main([*predict, "--future", str(tmp_path / "plan.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), forecast)
    capsys.readouterr()
    assert main([*predict, "--force"]) == 2  # the plan is needed
    assert "pass --future FILE" in capsys.readouterr().err

    # export records the covariates and refits the same forecaster
    argv = ["export", "--study", "sales-tiny-forecasting-h4", "--out", str(tmp_path / "again")]
    assert main([*argv, "--storage", f"sqlite:///{out / 'study.db'}"]) == 0
    again = load(tmp_path / "again").predict(X_future=plan)  # dates as text: parsed
    np.testing.assert_allclose(again["y_hat"], forecast["y_hat"], rtol=1e-4)
