"""Make datasets/weather_hourly.csv: a small multivariate hourly weather series (generated, seeded).

No multivariate series ships inside the installed packages at a size that trains in seconds, so
this one is simulated, in the spirit of the Jena climate series of Deep Learning with Python
(chapter 10): 90 days of hourly readings of one station, in time order.

  time          ISO hour, 2025-03-01T00:00 onwards (an index: configs leave it out)
  temperature   deg C: a spring warming trend, a daily cycle whose size follows the cloud cover,
                and weather fronts that arrive about 12 hours after the pressure announces them
  pressure      hPa: 1013 minus the coming front, plus noise
  humidity      %: high at night and under clouds, low on sunny afternoons
  cloud_cover   0-1: a slowly drifting cloudiness

So the next hours' temperature depends on the hour of the day (seen in the window's shape), the
clouds and the pressure: a recurrent model that reads all four columns can beat "the temperature
stays as it is" (the last-value baseline). Same file on every run (seed 1337).

Run: python datasets/make_weather.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

DAYS = 90
LEAD = 12  # hours between a pressure drop and its front's temperature change
SEED = 1337


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    noise = rng.normal(0.0, sigma, n)
    out = np.empty(n)
    out[0] = noise[0] / np.sqrt(1 - phi**2)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + noise[i]
    return out


def weather(n_hours: int, seed: int = SEED) -> pd.DataFrame:
    """The series as a table, one row per hour."""
    rng = np.random.default_rng(seed)
    hours = np.arange(n_hours + LEAD)
    hour_of_day = hours % 24
    front = _ar1(rng, n_hours + LEAD, 0.99, 0.25)
    clouds = 1 / (1 + np.exp(-_ar1(rng, n_hours + LEAD, 0.98, 0.3)))
    trend = 4.0 + 8.0 * hours / (24 * DAYS)
    daily = (7.0 - 5.0 * clouds) * np.sin(2 * np.pi * (hour_of_day - 9) / 24)
    temperature = trend + daily + 2.5 * np.roll(front, LEAD) + rng.normal(0, 0.3, hours.size)
    pressure = 1013.0 - 4.0 * front + rng.normal(0, 0.4, hours.size)
    humidity = np.clip(70 - 3.0 * daily / 7.0 * 5 + 20 * clouds + rng.normal(0, 2.0, hours.size), 15, 100)
    frame = pd.DataFrame({
        "time": pd.date_range("2025-03-01", periods=hours.size, freq="h").strftime("%Y-%m-%dT%H:%M"),
        "temperature": temperature.round(2), "pressure": pressure.round(1), "humidity": humidity.round(1),
        "cloud_cover": clouds.round(3),
    })
    return frame.iloc[LEAD:].reset_index(drop=True)  # the first hours have no front history


def main() -> None:
    out = Path(__file__).with_name("weather_hourly.csv")
    frame = weather(24 * DAYS)
    frame.to_csv(out, index=False)
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(frame)} rows)")


if __name__ == "__main__":
    main()
