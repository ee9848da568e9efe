"""The recommendation pipelines: read events, run the pure algorithms, swap the results in.

One module per pipeline, with run claiming and recording in `runs`, the distributed
similarity and ranking chords in `distributed` and `ranking_distributed` (their common swap in
`staging`); the names callers use are re-exported here.
"""

from recommender.pipelines.bought_together import (
    BOUGHT_TOGETHER_HISTORY_DAYS,
    bought_together_compute,
)
from recommender.pipelines.content import CONTENT_TOP_K, content_compute, content_refresh
from recommender.pipelines.distributed import (
    similarity_block_compute,
    similarity_distributed_begin,
    similarity_distributed_fail,
    similarity_distributed_finish,
)
from recommender.pipelines.evaluation import (
    EVALUATION_TEST_DAYS,
    evaluation_compute,
    evaluation_contenders,
    evaluation_record,
)
from recommender.pipelines.live_ranking import live_ranking_compute
from recommender.pipelines.neighbour_tables import similarity_replace
from recommender.pipelines.ranking import RANKING_HISTORY_DAYS, ranking_compute
from recommender.pipelines.ranking_distributed import (
    ranking_block_compute,
    ranking_distributed_begin,
    ranking_distributed_fail,
    ranking_distributed_finish,
)
from recommender.pipelines.runs import (
    PipelineAlreadyRunningError,
    ProgressCallback,
    pipeline_run_claim,
    pipeline_run_release,
    pipeline_runs_abandoned_fail,
    pipeline_runs_held,
)
from recommender.pipelines.sessions import sessions_compute
from recommender.pipelines.similarity import SIMILARITY_HISTORY_DAYS, similarity_compute
from recommender.pipelines.trending import trending_compute

__all__ = [
    "BOUGHT_TOGETHER_HISTORY_DAYS",
    "CONTENT_TOP_K",
    "EVALUATION_TEST_DAYS",
    "RANKING_HISTORY_DAYS",
    "SIMILARITY_HISTORY_DAYS",
    "PipelineAlreadyRunningError",
    "ProgressCallback",
    "bought_together_compute",
    "content_compute",
    "content_refresh",
    "evaluation_compute",
    "evaluation_contenders",
    "evaluation_record",
    "live_ranking_compute",
    "pipeline_run_claim",
    "pipeline_run_release",
    "pipeline_runs_abandoned_fail",
    "pipeline_runs_held",
    "ranking_block_compute",
    "ranking_compute",
    "ranking_distributed_begin",
    "ranking_distributed_fail",
    "ranking_distributed_finish",
    "sessions_compute",
    "similarity_block_compute",
    "similarity_compute",
    "similarity_distributed_begin",
    "similarity_distributed_fail",
    "similarity_distributed_finish",
    "similarity_replace",
    "trending_compute",
]
