"""Post-call analysis: a typed document per answered call, from its transcript and its facts.

`RuleAnalyzer` (deterministic, CPU, always available) and `LlmAnalyzer` (any OpenAI-compatible
endpoint, structured output, falling back to the rules) write the same `CallAnalysis`; the
classification categories are data (`classification.toml`, or the operator's own file). The
analyzers are pure (no database, no ARI); `analysis.store` is the queue and the store in PostgreSQL,
and `analysis.worker` claims answered calls, runs an analyzer off the event loop and stores the result.
"""

from analysis.classification import (
    Category,
    ClassificationConfigError,
    ClassificationScheme,
    load_classification,
)
from analysis.inputs import AnalysisInput, CallFacts, RegisteredPromise, Utterance
from analysis.llm import LlmAnalyzer
from analysis.rules import RuleAnalyzer, Stance
from analysis.schema import (
    AnalysisInvalid,
    CallAnalysis,
    InterestLevel,
    NextAction,
    Promise,
    Sentiment,
    Trend,
    analysis_json_schema,
    overall_sentiment,
    parse_analysis,
    trend_of,
)

__all__ = [
    "AnalysisInput", "AnalysisInvalid", "CallAnalysis", "CallFacts", "Category", "ClassificationConfigError",
    "ClassificationScheme", "InterestLevel", "LlmAnalyzer", "NextAction", "Promise", "RegisteredPromise",
    "RuleAnalyzer", "Sentiment", "Stance", "Trend", "Utterance", "analysis_json_schema",
    "load_classification", "overall_sentiment", "parse_analysis", "trend_of",
]
