"""The type of `model.backbone`: a keras.applications model as a Keras object, or a KerasHub preset.

`MobileNetV2`, `{MobileNetV2: {weights: null}}`, `{keras_hub: resnet_18_imagenet}` or
`{keras_hub: {preset: ./my_preset, load_weights: false}}`; `dlflow.config.backbone_check` checks
the names and arguments (and `dlflow.config.hub_backbone_check` the KerasHub form).
"""

from typing import Annotated, Any, Union

from pydantic import BeforeValidator

from dlflow.config.schema_base import _one_key

# As KerasObject, with a string value allowed too (a KerasHub preset: {keras_hub: <preset>}).
BackboneObject = Union[str, Annotated[dict[str, Union[dict[str, Any], str, None]], BeforeValidator(_one_key)]]
