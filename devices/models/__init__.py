"""The built-in device models, one module each (config class + step law), registered here.

A new model is one module like these (a `PulsedDeviceConfig` subclass with its `model` name
and `law`) plus one `register_device` line below; the order here is the order of
`DEVICE_MODELS`, of the schema reference and of the testing kit's families.
"""

from devices.models import asymmetric_linear, constant, exponential, linear, piecewise, power, soft_bounds
from devices.registry import register_device

register_device(constant.ConstantStepConfig)
register_device(linear.LinearStepConfig)
register_device(soft_bounds.SoftBoundsConfig)
register_device(soft_bounds.SoftBoundsReferenceConfig)
register_device(power.PowStepConfig)
register_device(power.PowStepReferenceConfig)
register_device(exponential.ExpStepConfig)
register_device(piecewise.PiecewiseStepConfig)
register_device(asymmetric_linear.AsymmetricLinearConfig)
