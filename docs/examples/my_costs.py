"""A cost model of your own: a flash ADC, whose conversion energy doubles with every bit."""

from emulator.hardware import HardwareCosts, Operation


class FlashAdcCosts(HardwareCosts):
    """The default NeuroSim tile, but each ADC conversion costs comparator_fj per level (2^bits)."""

    name: str = "flash-adc"
    comparator_fj: float = 1.5
    """Energy of one comparator in one conversion."""

    def energy_terms(self, operation: Operation) -> list[tuple[str, float]]:
        terms = super().energy_terms(operation)
        if operation.kind != "read":
            return terms
        flash = operation.conversions * self.comparator_fj * 2 ** self.adc_bits / 1000.0
        return [(category, flash if category == "adc" else energy) for category, energy in terms]
