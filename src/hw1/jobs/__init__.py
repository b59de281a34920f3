"""The workflow's jobs that compute: training (:mod:`~hw1.jobs.train`) and the analyses of
trained runs (:mod:`~hw1.jobs.analysis`, dispatching to the job functions of each part,
:mod:`~hw1.jobs.optimization` and :mod:`~hw1.jobs.generalization`). Each glues the tested
library (:mod:`hw1.engine`, :mod:`hw1.analysis`) to the files a rule names."""
