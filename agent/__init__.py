"""The brain of a call: what the agent understands and decides, with no audio, no ARI, no database.

- `protocol`: an agent as the conversation loop drives it (`media.responder.Responder`), the fallback;
- `rule_agent`: the built-in dialogue engine over a flow; `identify_agent`: inbound identification;
- `llm` + `llm_agent` + `prompts`: an OpenAI-compatible model with tools, the rule engine behind it;
- `flow` + `flows/`: negotiation flows as data; `nlu/`: Spanish understanding (intents, dates, amounts);
- `tools`: the tools both brains end in, as typed commands (`ari_app` carries them out through `campaigns`).
"""
