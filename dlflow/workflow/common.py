"""Old home of what stages share, kept for branches in flight (the lead removes it after merging).

Log and quiet live in `dlflow.log`, located_errors and where in `dlflow.config.located`,
PreparedData and prepare_data in `dlflow.workflow.prepared_data`.
"""

from dlflow.config.located import located_errors, where  # noqa: F401
from dlflow.log import Log, quiet  # noqa: F401
from dlflow.workflow.prepared_data import PreparedData, prepare_data  # noqa: F401
