"""The `data.tfrecord` section: the feature spec of TFRecord files of `tf.train.Example` records."""

from typing import Literal

from pydantic import Field, field_validator

from dlflow.config.schema_base import Section


class TFRecordFeature(Section):
    """One feature of every record: its dtype and fixed shape (`[]`: one value)."""

    dtype: Literal["float32", "int64", "string"] = Field(description="The feature's type in the records.")
    shape: list[int] = Field([], description="Its fixed shape ([] for one value).")

    @field_validator("shape")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(n < 1 for n in v):
            raise ValueError(f"every dimension must be at least 1, received {v}")
        return v


class TFRecordOptions(Section):
    """TFRecord files (`data.format: tfrecord`): the features every `tf.train.Example` holds.

    The target feature is named by `data.target`; the others are the model's inputs (float32 and
    int64 features passed as they are, string features as text)."""

    features: dict[str, TFRecordFeature] = Field(
        min_length=2,
        description=("Every feature of the records by name (the target included): {name: {dtype, shape}}."),
    )
    compression: Literal["none", "gzip", "zlib"] = Field("none", description="How the files are compressed.")
    shuffle_buffer: int = Field(
        10_000, gt=0, description=("Training records shuffled together (a window over the files).")
    )
