//! The diesel schema, written by hand: one description valid for both the SQLite and
//! the PostgreSQL migrations (`runtime/migrations/{sqlite,postgres}`).

diesel::table! {
    runs (id) {
        id -> BigInt,
        tenant -> Text,
        uid -> Text,
        name -> Text,
        created_by -> Text,
        created_us -> BigInt,
        updated_us -> BigInt,
    }
}

diesel::table! {
    scalars (id) {
        id -> BigInt,
        run_id -> BigInt,
        metric -> Text,
        variant -> Text,
        step -> Nullable<BigInt>,
        ts_us -> BigInt,
        value -> Double,
        special -> SmallInt,
        source -> Text,
        point_key -> Text,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        run_id -> BigInt,
        event_type -> Text,
        metric -> Text,
        variant -> Text,
        iter -> Nullable<BigInt>,
        ts_us -> BigInt,
        point_key -> Nullable<Text>,
        payload -> Text,
    }
}

diesel::table! {
    run_meta (run_id, kind, key) {
        run_id -> BigInt,
        kind -> Text,
        key -> Text,
        value -> Text,
        ts_us -> BigInt,
    }
}

diesel::joinable!(scalars -> runs (run_id));
diesel::joinable!(events -> runs (run_id));
diesel::joinable!(run_meta -> runs (run_id));

diesel::allow_tables_to_appear_in_same_query!(runs, scalars, events, run_meta);

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    experiments (id) {
        id -> BigInt,
        tenant -> Text,
        group_id -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        created_us -> BigInt,
        updated_us -> BigInt,
    }
}

diesel::table! {
    experiment_jobs (run_id) {
        run_id -> BigInt,
        experiment_id -> BigInt,
        description -> Nullable<Text>,
        status -> Text,
        timeout -> Nullable<Text>,
        queue_id -> Nullable<BigInt>,
        entrypoint_id -> Nullable<BigInt>,
        entrypoint_snapshot_id -> Nullable<BigInt>,
        job_values -> Nullable<Text>,
        created_us -> BigInt,
        updated_us -> BigInt,
    }
}

diesel::joinable!(experiment_jobs -> runs (run_id));
diesel::joinable!(experiment_jobs -> experiments (experiment_id));

diesel::allow_tables_to_appear_in_same_query!(experiments, experiment_jobs, runs);

diesel::table! {
    assets (id) {
        id -> BigInt,
        run_id -> BigInt,
        asset_id -> Text,
        file_name -> Text,
        asset_type -> Text,
        step -> Nullable<BigInt>,
        epoch -> Nullable<BigInt>,
        context -> Nullable<Text>,
        metadata -> Nullable<Text>,
        source -> Text,
        file_size -> BigInt,
        created_us -> BigInt,
        content -> Binary,
    }
}

diesel::table! {
    scalar_rollup (run_id, width, metric, variant, bucket) {
        run_id -> BigInt,
        metric -> Text,
        variant -> Text,
        width -> BigInt,
        bucket -> BigInt,
        n -> BigInt,
        total -> Double,
        points -> BigInt,
    }
}

diesel::joinable!(scalar_rollup -> runs (run_id));
diesel::allow_tables_to_appear_in_same_query!(scalar_rollup, runs);

diesel::table! {
    run_sources (run_id, source) {
        run_id -> BigInt,
        source -> Text,
    }
}

diesel::joinable!(run_sources -> runs (run_id));
diesel::allow_tables_to_appear_in_same_query!(run_sources, runs);
