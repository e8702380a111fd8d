DROP TABLE experiment_jobs;
DROP TABLE experiments;
