"""Recipe fields for pushing checkpoints to Hub branches, shared by the SFT and GRPO configs (as in open-r1)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HubRevisionArguments:
    """Mixed into SupportSetSFTConfig / SupportSetGRPOConfig; read by `raml_recipes.hub.hub_callbacks`."""

    push_to_hub_revision: bool = field(
        default=False,
        metadata={
            "help": "Push every checkpoint to its own revision branch `<hub_model_revision>-step-<N>` of "
            "`hub_model_id`."
        },
    )
    hub_model_revision: str = field(
        default="main",
        metadata={"help": "Branch name the checkpoint branches are named after (`<revision>-step-<N>`)."},
    )
