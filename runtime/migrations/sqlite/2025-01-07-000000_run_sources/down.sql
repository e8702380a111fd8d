DROP TABLE run_sources;
