"""The `data:` section of the experiment config: source, format, split, missing values, per-kind options."""

from typing import Literal, Union

from pydantic import Field, PositiveInt, model_validator

from dlflow.choices import DATA_FORMATS
from dlflow.config.schema_base import KerasObject, Section
from dlflow.config.schema_tfrecord import TFRecordOptions


class ImageOptions(Section):
    """How image files become tensors."""

    size: tuple[PositiveInt, PositiveInt] | None = Field(
        None,
        description=("[height, width] every image is resized to; left out: the data's own size (all images alike)."),
    )
    color_mode: Literal["grayscale", "rgb", "rgba"] = Field("rgb", description="Channels the images are read with.")


class TextOptions(Section):
    """How raw strings become token sequences (TextVectorization, adapted on training data).

    `output_mode` left out means `int` (token ids, for an Embedding) for a text folder and
    `tf_idf` (one bag-of-words vector, joined with the other columns) for a table's text column;
    a train run prints and records which one it used.
    """

    max_tokens: int = Field(
        20000,
        gt=1,
        description="Vocabulary size (TextVectorization's max_tokens), padding and out-of-vocabulary tokens included.",
    )
    sequence_length: int = Field(
        200, gt=0, description="Tokens per text with output_mode int (longer texts are cut, shorter ones padded)."
    )
    output_mode: Literal["int", "multi_hot", "count", "tf_idf"] | None = Field(
        None,
        description=(
            "int: token ids for an Embedding; multi_hot, count, tf_idf: one bag-of-words vector. "
            "Left out: int for a text folder, tf_idf for a table's text column."
        ),
    )
    ngrams: int | None = Field(None, description="Also count word n-grams up to this length (bag-of-words modes).")
    max_file_bytes: int = Field(
        5_000_000,
        gt=0,
        description=("Largest file a text folder may hold, in bytes; a larger one is a data error naming it."),
    )

    @model_validator(mode="after")
    def _room_for_words(self) -> "TextOptions":
        if self.output_mode in ("int", None) and self.max_tokens < 3:
            raise ValueError(
                f"max_tokens: {self.max_tokens} leaves no room for a word with output_mode int (the "
                f"default for text folders; index 0 pads, 1 is out-of-vocabulary): expected at least 3"
            )
        return self


class WindowOptions(Section):
    """Sliding windows over a time series (forecasting)."""

    length: int = Field(gt=0, description="Time steps in each input window.")
    horizon: int = Field(1, gt=0, description="How many steps after the window's end the target is.")
    stride: int = Field(1, gt=0, description="Steps between the starts of consecutive windows.")
    sampling_rate: int = Field(1, gt=0, description="Keep every N-th step inside a window.")


class SplitConfig(Section):
    """The holdout split: fractions of the whole data set."""

    validation: float = Field(0.15, ge=0.0, lt=1.0, description="Share of the data held out for validation.")
    test: float = Field(0.15, ge=0.0, lt=1.0, description="Share of the data held out for `dlflow evaluate`.")
    stratify: bool = Field(True, description="Keep the class balance in every part (classification).")

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> "SplitConfig":
        if self.validation + self.test >= 0.9:
            raise ValueError(
                f"validation + test must leave training data: expected a sum below 0.9, "
                f"received {self.validation + self.test:g}"
            )
        return self


class MissingConfig(Section):
    """What to do with missing values, per column type."""

    numeric: Literal["mean", "median", "constant", "error"] = Field(
        "mean", description=("How a missing number is filled (from the training split), or error to refuse it.")
    )
    categorical: Literal["most_frequent", "constant", "error"] = Field(
        "most_frequent",
        description=("How a missing category is filled (from the training split), or error to refuse it."),
    )
    numeric_constant: float = Field(0.0, description="The fill value of `numeric: constant`.")
    categorical_constant: Union[int, str] = Field(
        "missing", description=("The fill value of `categorical: constant`: a category of its own.")
    )

    @model_validator(mode="after")
    def _constants_need_constant(self) -> "MissingConfig":
        # A fill value other than the default only takes effect with `constant`.
        if self.numeric_constant != 0.0 and self.numeric != "constant":
            raise ValueError(
                f"numeric_constant is the fill value of `numeric: constant`; numeric is "
                f"'{self.numeric}', so it would do nothing"
            )
        if self.categorical_constant != "missing" and self.categorical != "constant":
            raise ValueError(
                f"categorical_constant is the fill value of `categorical: constant`; categorical is "
                f"'{self.categorical}', so it would do nothing"
            )
        return self


class StreamingConfig(Section):
    """Tables too large for memory are read from disk in chunks, for statistics and for training."""

    enabled: Union[Literal["auto"], bool] = Field(
        "auto",
        description=("Stream the table from disk; auto: when its estimated size in memory exceeds threshold_mb."),
    )
    threshold_mb: float = Field(1024, gt=0, description="Estimated in-memory size (MB) past which auto streams.")
    chunk_rows: int = Field(100_000, gt=0, description="Rows read (and shuffled together) at a time.")


class DataConfig(Section):
    """Where the data comes from and how it is split."""

    source: str = Field(description="A file or folder path (relative to the config), or builtin:<name>.")
    format: Literal[("auto", *DATA_FORMATS)] = Field(
        "auto", description="How the data is stored; auto: from the source's name."
    )
    target: str | list[str] | None = Field(
        None,
        description=(
            "The target column(s) or array key(s); image and text folders take the class sub-folders; "
            "none: no target (images, text or arrays for a generative factory model with its own train_step)."
        ),
    )
    features: dict[str, Literal["numeric", "categorical", "text", "ignore"]] | None = Field(
        None, description=("Column types of a table by column name; left out, they are inferred (and recorded).")
    )
    image: ImageOptions | None = Field(None, description="How image files become tensors.")
    text: TextOptions | None = Field(None, description="How raw strings become token sequences.")
    window: WindowOptions | None = Field(None, description="Sliding windows over a time series.")
    tfrecord: TFRecordOptions | None = Field(None, description="format tfrecord: the records' feature spec.")
    split: SplitConfig = Field(SplitConfig(), description="The train / validation / test split.")
    missing: MissingConfig = Field(MissingConfig(), description="What to do with missing values.")
    streaming: StreamingConfig = Field(StreamingConfig(), description="Reading tables too large for memory.")
    augment: list[KerasObject] = Field(
        [],
        description=(
            "Keras augmentation layers applied to training batches only, e.g. [{RandomFlip: {mode: horizontal}}]."
        ),
    )
    # Image folders: where decoded images are kept between epochs. memory: in RAM (uint8);
    # disk: in runs/<name>/cache/; none: decoded again every epoch. Left out: memory when the
    # whole decoded folder (height x width x channels bytes per image) fits 1 GiB, else none.
    cache: Literal["memory", "disk", "none"] | None = Field(
        None,
        description=(
            "Image folders: where decoded images are kept between epochs (left out: memory when it fits 1 GiB)."
        ),
    )
    # Image folders: a file that fails the header check (truncated, not an image, another format)
    # is an error naming it (error, also when left out), or left out and listed in the data card
    # and manifest (skip).
    on_bad_file: Literal["error", "skip"] | None = Field(
        None,
        description=(
            "Image folders: a file that is not a readable image is an error (the default) or skipped and listed."
        ),
    )
    # standardize: regression targets are learned as (y - mean) / std with the training split's
    # moments, and the model ends with the inverse scaling, so it answers in the target's units.
    # Left out: standardize when there is a regression target, none otherwise.
    target_scaling: Literal["standardize", "none"] | None = Field(
        None,
        description=(
            "Regression targets learned standardized, answered in their units (left out: standardize for regression)."
        ),
    )
