/* plantsim.c: a small dynamic simulator of an oxidation plant, producing the
 * synthetic sample data of `plantfit sample-data` (entry points
 * plantsim_options_default, plantsim_columns, plantsim_generate).
 *
 * Process.  A liquid hydrocarbon feed (feed_rate, t/h; feed_purity, wt%) is
 * oxidised with air (air_flow, Nm3/h) over a dissolved catalyst (dosed at
 * catalyst_rate, kg/h) in two stirred reactors in series (reactor1_*,
 * reactor2_*), then a vacuum evaporator with a small rectifying section
 * (evaporator_*, reflux_ratio) boils off unconverted feed and concentrates
 * the product.  The plant runs one of two parallel reactor trains at a time,
 * in campaigns of 12-48 h ("line" A or B; train B has a 15% larger reactor
 * volume and a more active by-product path, so its best temperature is lower).
 * Numbers are invented to be plausible, not taken from a real plant.
 *
 * Outputs, all computed from the true (noise-free) process state:
 *   oxidation1     conversion of feed in reactor 1.  First-order kinetics in a
 *                  CSTR: X1 = Da1/(1 + Da1), Da1 = k1*tau (Levenspiel 1999,
 *                  "Chemical Reaction Engineering", 3rd ed., Wiley, Ch. 5,
 *                  mixed flow reactor, first-order reaction), with k1
 *                  Arrhenius in reactor1_temp (Ea = 90 kJ/mol) times catalyst
 *                  activity, sqrt(catalyst/feed ratio), sqrt(air/feed ratio),
 *                  (pressure)^0.4 and a feed-purity factor; tau ~ 1/feed_rate.
 *   oxidation2     overall conversion after reactor 2, X2 = 1 - (1-X1)/(1+Da2)
 *                  (mixed reactors in series, Levenspiel Ch. 6), Da2
 *                  Arrhenius in reactor2_temp and sqrt(reactor2_pressure).
 *   concentration  by-product in the concentrated product, wt%.  The product
 *                  is over-oxidised in each reactor by a consecutive reaction
 *                  with a higher activation energy (200 kJ/mol), so the
 *                  surviving share is S = 1/((1+Db1)(1+Db2)) (Levenspiel Ch. 8,
 *                  series reactions in mixed flow); the by-product stays with
 *                  the product and is concentrated with it.  Residual feed
 *                  that the evaporator does not strip, and thermal
 *                  decomposition rising with evaporator_temp, add to it.  Its
 *                  specification limit is PLANTSIM_CONCENTRATION_LIMIT.
 *   yield          product yield, % of theoretical: 100*X2*S*(1-loss)*(1-dec),
 *                  where loss (product carried overhead) grows with the degree
 *                  of concentration and falls with reflux_ratio, and dec is the
 *                  thermal decomposition.  Conversion rises and selectivity
 *                  falls with temperature, so yield has an interior optimum in
 *                  reactor temperature (about 165 degC on train A, 163 on B).
 * The evaporator degree of concentration follows the boiling-point elevation
 * BPE = evaporator_temp - Tb(evaporator_pressure), Tb from the
 * Clausius-Clapeyron equation with dH/R = 4900 K (a water-like solvent).
 *
 * Inputs.  Every operator setpoint is piecewise constant: moves arrive as a
 * Poisson process (a mean hold of 4-12 h) and jump by a uniform step reflected
 * into the normal operating range.  The process follows its setpoint through
 * a first-order lag (2-8 min, exact zero-order-hold discretisation), plus an
 * Ornstein-Uhlenbeck (mean-reverting AR(1)) disturbance sampled exactly:
 * e' = phi*e + sd*sqrt(1-phi^2)*N(0,1), phi = exp(-dt/tau) (Gillespie 1996,
 * "Exact numerical simulation of the Ornstein-Uhlenbeck process and its
 * integral", Phys. Rev. E 54, 2084).  Correlations come from the plant: air and
 * catalyst are ratio-controlled to the feed, reactor pressures rise with
 * temperature, reactor temperatures follow the cooling water, which has a
 * daily cycle, and the evaporator pressure follows its temperature.  The
 * catalyst of each train deactivates slowly, activity exp(-age/90 d), and is
 * renewed every 28 d (A) or 24 d (B).  Each sensor adds white noise, clips to
 * its transmitter range and is rounded to its precision; four sensors have
 * short gaps (1-5 samples) that are left missing (NaN).
 *
 * Abnormal episodes (10-60 min each, label 1 for their whole length), eight
 * kinds in equal shares, cycled in shuffled blocks of eight: sensor faults on
 * one input sensor -- stuck value, bias step, spikes, linear drift (the
 * sensor fault classes of Isermann 2006, "Fault-Diagnosis Systems",
 * Springer) -- which change the recorded value but not the process; process
 * upsets -- feed surge, cooling-water failure, catalyst poisoning (activity
 * x0.4-0.6 with a feed-purity dip) -- and runs outside the operating
 * envelope, which change the process and the outputs.  Upsets act for the
 * first 70% of the episode and the process recovers during the rest.
 * Episodes are spread over the time span, one per 1/k of it.
 *
 * Determinism.  Each component draws from its own ml_rng stream and the
 * normal process draws the same numbers whatever happens, so episodes and
 * gaps do not shift the random numbers of anything else.  Only IEEE
 * arithmetic and exp/log/sin/fmod are used; no pow.  We rely on -std=c11,
 * under which GCC does not contract a*b+c into an FMA (-ffp-contract=off);
 * for clang the pragma below does the same. */
#include "plantsim.h"

#include <math.h>
#include <stdlib.h>

#include "ml_rng.h"

/* Clang contracts a*b+c into an FMA by default even in ISO mode; the results
 * would then depend on the target's FMA support. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ------------------------------------------------------------------------- */
/* Columns                                                                   */

enum {
    C_TIME, C_LINE, C_FEED, C_CAT, C_AIR, C_PURITY, C_T1, C_P1, C_T2, C_P2, C_COOL, C_TEV,
    C_PEV, C_REFLUX, C_OX1, C_OX2, C_CONC, C_YIELD, C_ABN, C_NCOL
};

/* The measured inputs are columns C_FEED .. C_REFLUX, in that order. */
#define N_SENSORS (C_REFLUX - C_FEED + 1)

static const struct plantsim_column columns[C_NCOL] = {
    {"time", "min", 4, PLANTSIM_ROLE_INDEX, "minutes since the first sample"},
    {"line", "-", 0, PLANTSIM_ROLE_INDEX, "reactor train in operation, A or B (categorical)"},
    {"feed_rate", "t/h", 2, PLANTSIM_ROLE_INPUT, "hydrocarbon feed to reactor 1"},
    {"catalyst_rate", "kg/h", 2, PLANTSIM_ROLE_INPUT, "catalyst solution dosed with the feed"},
    {"air_flow", "Nm3/h", 1, PLANTSIM_ROLE_INPUT, "process air to the reactors"},
    {"feed_purity", "wt%", 2, PLANTSIM_ROLE_INPUT, "feed purity from the online analyser"},
    {"reactor1_temp", "degC", 2, PLANTSIM_ROLE_INPUT, "reactor 1 liquid temperature"},
    {"reactor1_pressure", "bar", 3, PLANTSIM_ROLE_INPUT, "reactor 1 head pressure (gauge)"},
    {"reactor2_temp", "degC", 2, PLANTSIM_ROLE_INPUT, "reactor 2 liquid temperature"},
    {"reactor2_pressure", "bar", 3, PLANTSIM_ROLE_INPUT, "reactor 2 head pressure (gauge)"},
    {"coolant_temp", "degC", 2, PLANTSIM_ROLE_INPUT, "cooling water supply temperature"},
    {"evaporator_temp", "degC", 2, PLANTSIM_ROLE_INPUT, "evaporator bottoms temperature"},
    {"evaporator_pressure", "bar", 3, PLANTSIM_ROLE_INPUT, "evaporator pressure (absolute)"},
    {"reflux_ratio", "-", 3, PLANTSIM_ROLE_INPUT, "reflux / distillate of the rectifying section"},
    {"oxidation1", "-", 4, PLANTSIM_ROLE_OUTPUT, "feed conversion after reactor 1, in (0, 1)"},
    {"oxidation2", "-", 4, PLANTSIM_ROLE_OUTPUT, "feed conversion after reactor 2, in (0, 1)"},
    {"concentration", "wt%", 3, PLANTSIM_ROLE_OUTPUT, "by-product in the concentrated product"},
    {"yield", "%", 2, PLANTSIM_ROLE_OUTPUT, "product yield, % of theoretical"},
    {"abnormal", "-", 0, PLANTSIM_ROLE_LABEL, "1 inside an abnormal episode, else 0"},
};

const struct plantsim_column *plantsim_columns(size_t *ncol)
{
    *ncol = C_NCOL;
    return columns;
}

/* Sensor properties, indexed by column - C_FEED.  `noise` is the white
 * measurement noise (sd); `span` the width of the normal operating range,
 * which scales sensor-fault magnitudes; [lo, hi] the transmitter range the
 * reading is clipped to (a 4-20 mA loop cannot report beyond it). */
struct sensor {
    double noise, span, lo, hi;
};

static const struct sensor sensors[N_SENSORS] = {
    {0.08, 8.0, 0.0, 40.0},       /* feed_rate */
    {0.25, 35.0, 0.0, 120.0},     /* catalyst_rate */
    {12.0, 2400.0, 0.0, 9000.0},  /* air_flow */
    {0.03, 1.8, 90.0, 100.0},     /* feed_purity */
    {0.10, 23.0, 0.0, 250.0},     /* reactor1_temp */
    {0.006, 3.6, 0.0, 16.0},      /* reactor1_pressure */
    {0.10, 28.0, 0.0, 250.0},     /* reactor2_temp */
    {0.006, 3.6, 0.0, 16.0},      /* reactor2_pressure */
    {0.05, 9.0, 0.0, 60.0},       /* coolant_temp */
    {0.08, 16.0, 0.0, 200.0},     /* evaporator_temp */
    {0.002, 0.55, 0.0, 1.6},      /* evaporator_pressure */
    {0.010, 1.4, 0.0, 6.0},       /* reflux_ratio */
};

/* The sensors with communication gaps (missing values). */
static const int gappy[] = {C_AIR, C_PURITY, C_P2, C_COOL};

/* ------------------------------------------------------------------------- */
/* Options                                                                   */

void plantsim_options_default(struct plantsim_options *o)
{
    o->rows = 10000;
    o->seed = 1;
    o->abnormal_fraction = 0.03;
    o->sample_period = 60.0;
    o->missing_fraction = 0.002;
}

/* Random streams: one per component (see the determinism note above). */
enum {
    S_INIT = 1, S_SETPOINT, S_DISTURB, S_NOISE, S_OUTNOISE, S_EPISODE, S_SPIKE, S_MISSING,
    S_SCHEDULE
};

/* ------------------------------------------------------------------------- */
/* Process model                                                             */

#define GAS_R 8.314462618   /* J/(mol K), CODATA 2018 (exact by SI definition) */
#define KELVIN 273.15

/* Arrhenius factor k(T)/k(Tref) = exp(Ea/R (1/Tref - 1/T)), temperatures in degC. */
static double arrhenius(double t, double tref, double ea)
{
    return exp(ea / GAS_R * (1.0 / (tref + KELVIN) - 1.0 / (t + KELVIN)));
}

/* Boiling temperature (degC) of the solvent at pressure p (bar abs) and its
 * inverse, from the integrated Clausius-Clapeyron equation
 * ln(p/p0) = -dH/R (1/T - 1/T0), normal boiling point T0 = 100 degC at 1.01325 bar. */
#define CC_DHR 4900.0       /* dH_vap / R, K */
#define CC_P0 1.01325
static double boiling_pressure(double tb)
{
    return CC_P0 * exp(CC_DHR * (1.0 / (100.0 + KELVIN) - 1.0 / (tb + KELVIN)));
}

/* Per-train constants. */
struct train {
    double volume;          /* reactor volume relative to train A */
    double byproduct;       /* over-oxidation rate relative to train A */
    double t_shift;         /* shift of the reactor temperature setpoint range, K */
    double cat_cycle;       /* catalyst renewal interval, days */
};

static const struct train trains[2] = {
    {1.00, 1.00, 0.0, 28.0},
    {1.15, 1.25, -3.0, 24.0},
};

/* The true state the outputs depend on. */
struct pstate {
    double feed, cat, air, purity, t1, p1, t2, p2, tev, bpe, reflux;
    double activity;        /* catalyst activity, 1 = fresh */
    int line;               /* 0 = A, 1 = B */
};

struct outputs {
    double x1, x2, conc, yield;
};

/* The steady-state output model described in the header comment.  Nominal
 * operating point: feed 21 t/h, catalyst 2.3 kg/t, air 210 Nm3/t, reactor 1
 * 160 degC / 8.5 bar, reactor 2 175 degC / 8 bar, activity 0.85. */
static void plant_outputs(const struct pstate *s, struct outputs *y)
{
    const struct train *tr = &trains[s->line];
    double tau = 20.0 / s->feed * tr->volume;        /* residence time / nominal */
    double ratio = s->cat / s->feed;                  /* kg catalyst per t feed */
    double airr = s->air / s->feed;                   /* Nm3 air per t feed */
    double oxy = sqrt(airr / 210.0);
    double da1, da2, db1, db2, sel, w, resid, dec, loss;

    da1 = 2.6 * s->activity * tau * sqrt(ratio / 2.3) * oxy * arrhenius(s->t1, 160.0, 90e3) *
          exp(0.4 * log(s->p1 / 8.5)) * exp(0.2 * (s->purity - 99.0));
    da2 = 1.4 * s->activity * tau * oxy * arrhenius(s->t2, 175.0, 90e3) * sqrt(s->p2 / 8.0);
    y->x1 = da1 / (1.0 + da1);
    y->x2 = 1.0 - (1.0 - y->x1) / (1.0 + da2);

    db1 = 0.03 * tr->byproduct * tau * arrhenius(s->t1, 160.0, 200e3);
    db2 = 0.03 * tr->byproduct * tau * arrhenius(s->t2, 175.0, 200e3);
    sel = 1.0 / ((1.0 + db1) * (1.0 + db2));

    /* Product mass fraction in the bottoms rises with the boiling-point
     * elevation (at least ~15 K in any state the simulator reaches; the
     * clamp at 0 only keeps w >= 0); unstripped feed falls with it and with
     * temperature. */
    w = 0.9 * (1.0 - exp(-fmax(s->bpe, 0.0) / 14.0));
    resid = 15.0 * (1.0 - y->x2) * exp(-s->bpe / 10.0 - (s->tev - 108.0) / 12.0);
    dec = 0.01 * exp((s->tev - 110.0) / 6.0);
    y->conc = w * (19.0 * (1.0 - sel) + resid + 40.0 * dec);
    loss = 0.05 * w / (1.0 + 0.6 * fmax(s->reflux - 1.0, 0.0));
    y->yield = 100.0 * y->x2 * sel * (1.0 - loss) * (1.0 - fmin(dec, 0.5));
}

/* ------------------------------------------------------------------------- */
/* Building blocks                                                           */

/* An operator setpoint: piecewise constant, moved at Poisson times by a
 * uniform step of at most max_move*(hi-lo), reflected into [lo, hi]. */
struct setpoint {
    double lo, hi;          /* normal operating range */
    double mean_hold;       /* mean time between moves, s */
    double max_move;        /* largest move, share of hi - lo */
    double value;           /* current setpoint */
};

/* Draws exactly two uniforms, whatever happens, to keep the stream aligned. */
static void setpoint_step(struct setpoint *sp, double dt, struct ml_rng *r)
{
    double u = ml_rng_uniform(r);
    double v = ml_rng_uniform(r);
    double x;

    if (u >= dt / sp->mean_hold)
        return;
    x = sp->value + (2.0 * v - 1.0) * sp->max_move * (sp->hi - sp->lo);
    if (x > sp->hi)
        x = 2.0 * sp->hi - x;
    if (x < sp->lo)
        x = 2.0 * sp->lo - x;
    sp->value = fmin(fmax(x, sp->lo), sp->hi);
}

/* Ornstein-Uhlenbeck disturbance with stationary sd `sd` and time constant tau. */
struct ou {
    double phi, innov, x;
};

static void ou_init(struct ou *o, double sd, double tau, double dt, struct ml_rng *r)
{
    o->phi = exp(-dt / tau);
    o->innov = sd * sqrt(1.0 - o->phi * o->phi);
    o->x = sd * ml_rng_normal(r);
}

static double ou_step(struct ou *o, struct ml_rng *r)
{
    o->x = o->phi * o->x + o->innov * ml_rng_normal(r);
    return o->x;
}

/* First-order lag y' = (u - y)/tau, exact for u held over the step. */
struct lag {
    double a, y;
};

static void lag_init(struct lag *l, double tau, double dt, double y0)
{
    l->a = 1.0 - exp(-dt / tau);
    l->y = y0;
}

static double lag_step(struct lag *l, double u)
{
    l->y += l->a * (u - l->y);
    return l->y;
}

/* Powers of ten, exact in binary, for rounding to 0..6 decimals. */
static const double p10[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6};

/* x rounded to `decimals` decimals: the double nearest to an integer / 10^d,
 * so "%.*f" or the shortest round-trip form prints it exactly. */
static double round_to(double x, int decimals)
{
    double p = p10[decimals];
    return round(x * p) / p;
}

static double uniform_in(struct ml_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ml_rng_uniform(r);
}

/* ------------------------------------------------------------------------- */
/* Abnormal episodes                                                         */

enum ep_kind {
    EP_STUCK, EP_BIAS, EP_SPIKE, EP_DRIFT,         /* sensor faults */
    EP_SURGE, EP_COOLING, EP_POISON,               /* process upsets */
    EP_EXCURSION,                                  /* outside the operating envelope */
    EP_NKINDS
};

/* Which setpoint an envelope excursion moves, and where to. */
enum excursion {
    EX_T1_HIGH, EX_T1_LOW, EX_FEED_HIGH, EX_TEV_HIGH, EX_REFLUX_LOW, EX_BPE_HIGH, EX_N
};

struct episode {
    size_t start, len;      /* rows [start, start + len) */
    size_t active;          /* upsets act on rows [start, start + active) */
    enum ep_kind kind;
    int sensor;             /* sensor faults: index into sensors[] */
    int target;             /* excursions: enum excursion */
    double mag;             /* kind-specific magnitude, set in plan_episodes */
    double aux;             /* second magnitude (poisoning: purity dip) */
};

/* Lay out the episodes: lengths of 10-60 min drawn until they sum to the
 * budget round(f*n); then the span is cut into k equal segments and episode j
 * is placed uniformly inside segment j, at least one row from its ends, so
 * episodes never touch and their labelled runs can be told apart. */
static enum ml_status plan_episodes(const struct plantsim_options *o, struct episode **out,
                                    size_t *nout, struct ml_err *err)
{
    struct ml_rng r;
    size_t n = o->rows, budget, left, min_len, k = 0, cap = 0, j;
    struct episode *ep = NULL;
    int order[EP_NKINDS];

    *out = NULL;
    *nout = 0;
    ml_rng_seed(&r, o->seed, S_EPISODE);
    budget = (size_t)llround(o->abnormal_fraction * (double)n);
    min_len = (size_t)llround(10.0 * 60.0 / o->sample_period);
    for (left = budget; left > 0;) {
        double minutes = uniform_in(&r, 10.0, 60.0);
        size_t len = (size_t)llround(minutes * 60.0 / o->sample_period);

        if (len < 1)
            len = 1;
        /* Fold a remainder shorter than the shortest episode into this one. */
        if (len >= left || left - len < min_len)
            len = left;
        if (k == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            struct episode *nep = realloc(ep, ncap * sizeof *nep);
            if (!nep) {
                free(ep);
                ML_FAIL(err, ML_ENOMEM, "out of memory planning %zu abnormal episodes", ncap);
            }
            ep = nep;
            cap = ncap;
        }
        ep[k].len = len;
        k++;
        left -= len;
    }
    for (j = 0; j < k; j++) {
        size_t s0 = (size_t)((double)j * (double)n / (double)k);
        size_t s1 = (size_t)((double)(j + 1) * (double)n / (double)k);
        size_t room = s1 - s0;
        struct episode *e = &ep[j];
        double u[4];
        int i;

        if (e->len > room)
            e->len = room;
        if (room >= e->len + 2)
            e->start = s0 + 1 + (size_t)ml_rng_below(&r, room - e->len - 1);
        else
            e->start = s0;
        e->active = (e->len * 7 + 9) / 10;
        if (j % EP_NKINDS == 0) {
            /* A fresh shuffled block of the eight kinds (Fisher-Yates). */
            for (i = 0; i < EP_NKINDS; i++)
                order[i] = i;
            for (i = EP_NKINDS - 1; i > 0; i--) {
                int m = (int)ml_rng_below(&r, (uint64_t)i + 1);
                int t = order[i];
                order[i] = order[m];
                order[m] = t;
            }
        }
        e->kind = (enum ep_kind)order[j % EP_NKINDS];
        e->sensor = (int)ml_rng_below(&r, N_SENSORS);
        e->target = (int)ml_rng_below(&r, EX_N);
        for (i = 0; i < 4; i++)
            u[i] = ml_rng_uniform(&r);
        {
            double sign = u[0] < 0.5 ? -1.0 : 1.0;
            double span = sensors[e->sensor].span;

            e->aux = 0.0;
            switch (e->kind) {
            case EP_STUCK:
            case EP_SPIKE:
                e->mag = 0.0;
                break;
            case EP_BIAS:
                e->mag = sign * (0.5 + 0.4 * u[1]) * span;
                break;
            case EP_DRIFT:
                e->mag = sign * (0.7 + 0.5 * u[1]) * span;
                break;
            case EP_SURGE:
                e->mag = 6.0 + 4.0 * u[1];          /* extra feed, t/h */
                break;
            case EP_COOLING:
                e->mag = 8.0 + 6.0 * u[1];          /* cooling water rise, K */
                break;
            case EP_POISON:
                e->mag = 0.4 + 0.2 * u[1];          /* activity multiplier */
                e->aux = 1.0 + 1.5 * u[2];          /* purity dip, wt% */
                break;
            case EP_EXCURSION:
                e->mag = u[1];                      /* where beyond the envelope */
                break;
            case EP_NKINDS:
                break;
            }
        }
    }
    *out = ep;
    *nout = k;
    return ML_OK;
}

/* ------------------------------------------------------------------------- */
/* Generation                                                                */

enum { SP_FEED, SP_CATR, SP_AIRR, SP_T1, SP_T2OFF, SP_P1, SP_TEV, SP_BPE, SP_REFLUX, SP_N };

/* Normal operating ranges: lo, hi, mean hold (h), largest move (share). */
static const double sp_table[SP_N][4] = {
    {17.0, 25.0, 6.0, 0.35},    /* feed, t/h */
    {1.8, 2.8, 12.0, 0.40},     /* catalyst/feed ratio, kg/t */
    {190.0, 230.0, 8.0, 0.40},  /* air/feed ratio, Nm3/t */
    {152.0, 172.0, 4.0, 0.30},  /* reactor 1 temperature, degC (train A) */
    {10.0, 16.0, 8.0, 0.40},    /* reactor 2 minus reactor 1 temperature, K */
    {7.5, 9.5, 10.0, 0.40},     /* reactor 1 pressure at 160 degC, bar */
    {98.0, 114.0, 6.0, 0.35},   /* evaporator temperature, degC */
    {18.0, 32.0, 6.0, 0.35},    /* evaporator boiling-point elevation, K */
    {1.8, 3.2, 6.0, 0.40},      /* reflux ratio */
};

/* OU disturbances: stationary sd and time constant (min). */
enum {
    D_FEED, D_AIR, D_T1, D_T2, D_P1, D_P2, D_TEV, D_BPE, D_REFLUX, D_COOL, D_PURITY, D_N
};
static const double dist_table[D_N][2] = {
    {0.25, 30.0},    /* feed, t/h */
    {0.012, 45.0},   /* air ratio, relative */
    {0.6, 40.0},     /* reactor 1 temperature, K */
    {0.6, 40.0},     /* reactor 2 temperature, K */
    {0.03, 20.0},    /* reactor 1 pressure, bar */
    {0.02, 20.0},    /* reactor 2 pressure, bar */
    {0.4, 30.0},     /* evaporator temperature, K */
    {0.6, 40.0},     /* boiling-point elevation, K */
    {0.04, 60.0},    /* reflux ratio */
    {1.0, 480.0},    /* cooling water, K */
    {0.12, 240.0},   /* feed purity, wt% */
};

/* Lag time constants (min) of the controlled variables. */
#define LAG_FEED 3.0
#define LAG_CAT 2.0
#define LAG_AIR 3.0
#define LAG_TEMP 8.0
#define LAG_P1 10.0
#define LAG_TEV 6.0
#define LAG_BPE 4.0
#define LAG_REFLUX 2.0
#define LAG_PURITY 20.0
#define LAG_UPSET 3.0

enum ml_status plantsim_generate(const struct plantsim_options *o, struct ml_table **out,
                                 struct ml_err *err)
{
    const char *names[C_NCOL];
    enum ml_coltype types[C_NCOL];
    struct ml_table *t = NULL;
    struct episode *ep = NULL;
    size_t nep = 0, e_next = 0, i, j;
    struct ml_rng r_init, r_sp, r_dist, r_noise, r_out, r_spike, r_miss, r_sched;
    struct setpoint sp[SP_N];
    struct ou dist[D_N];
    struct lag l_sp[SP_N], l_cat, l_air, l_purity;
    struct lag u_feed, u_cool, u_t1, u_t2, u_poison, u_purity;
    double dt, cat_age0[2], next_switch, next_tank, purity_level, stuck = 0.0, code;
    double *v[C_NCOL];
    int line;
    enum ml_status st;

    *out = NULL;
    if (o->rows < 1)
        ML_FAIL(err, ML_EINVAL, "rows = %zu: expected at least 1", o->rows);
    if (o->rows > PLANTSIM_MAX_ROWS)
        ML_FAIL(err, ML_ELIMIT, "rows = %zu: at most %zu rows can be generated", o->rows,
                PLANTSIM_MAX_ROWS);
    if (!(o->abnormal_fraction >= 0.0 && o->abnormal_fraction <= 0.5))
        ML_FAIL(err, ML_EINVAL, "abnormal fraction %g: expected a number in [0, 0.5]",
                o->abnormal_fraction);
    if (!(o->sample_period >= 1.0 && o->sample_period <= 3600.0))
        ML_FAIL(err, ML_EINVAL, "sample period %g s: expected 1 to 3600 seconds",
                o->sample_period);
    if (!(o->missing_fraction >= 0.0 && o->missing_fraction <= 0.05))
        ML_FAIL(err, ML_EINVAL, "missing fraction %g: expected a number in [0, 0.05]",
                o->missing_fraction);

    for (j = 0; j < C_NCOL; j++) {
        names[j] = columns[j].name;
        types[j] = j == C_LINE ? ML_COL_CATEGORICAL : ML_COL_NUMERIC;
    }
    st = ml_table_alloc(&t, C_NCOL, names, types, err);
    if (st)
        return st;
    /* Fix the level order so that A is code 0 whatever line runs first. */
    st = ml_table_level(t, C_LINE, "A", 1, &code, err);
    if (!st)
        st = ml_table_level(t, C_LINE, "B", 1, &code, err);
    if (!st)
        st = ml_table_reserve(t, o->rows, err);
    if (!st)
        st = plan_episodes(o, &ep, &nep, err);
    if (st)
        goto cleanup;
    for (j = 0; j < C_NCOL; j++)
        v[j] = t->col[j].v;

    dt = o->sample_period;
    ml_rng_seed(&r_init, o->seed, S_INIT);
    ml_rng_seed(&r_sp, o->seed, S_SETPOINT);
    ml_rng_seed(&r_dist, o->seed, S_DISTURB);
    ml_rng_seed(&r_noise, o->seed, S_NOISE);
    ml_rng_seed(&r_out, o->seed, S_OUTNOISE);
    ml_rng_seed(&r_spike, o->seed, S_SPIKE);
    ml_rng_seed(&r_miss, o->seed, S_MISSING);
    ml_rng_seed(&r_sched, o->seed, S_SCHEDULE);

    line = ml_rng_uniform(&r_init) < 0.5 ? 0 : 1;
    cat_age0[0] = uniform_in(&r_init, 0.0, trains[0].cat_cycle);
    cat_age0[1] = uniform_in(&r_init, 0.0, trains[1].cat_cycle);
    purity_level = uniform_in(&r_init, 97.8, 99.4);
    for (j = 0; j < SP_N; j++) {
        sp[j].lo = sp_table[j][0];
        sp[j].hi = sp_table[j][1];
        sp[j].mean_hold = sp_table[j][2] * 3600.0;
        sp[j].max_move = sp_table[j][3];
        sp[j].value = uniform_in(&r_init, sp[j].lo, sp[j].hi);
    }
    for (j = 0; j < D_N; j++)
        ou_init(&dist[j], dist_table[j][0], dist_table[j][1] * 60.0, dt, &r_init);
    {
        static const double lag_min[SP_N] = {LAG_FEED, 1.0, 1.0, LAG_TEMP, LAG_TEMP,
                                             LAG_P1, LAG_TEV, LAG_BPE, LAG_REFLUX};
        for (j = 0; j < SP_N; j++)
            lag_init(&l_sp[j], lag_min[j] * 60.0, dt, sp[j].value);
        l_sp[SP_T1].y += trains[line].t_shift;
    }
    lag_init(&l_cat, LAG_CAT * 60.0, dt, sp[SP_CATR].value * sp[SP_FEED].value);
    lag_init(&l_air, LAG_AIR * 60.0, dt, sp[SP_AIRR].value * sp[SP_FEED].value);
    lag_init(&l_purity, LAG_PURITY * 60.0, dt, purity_level);
    lag_init(&u_feed, LAG_UPSET * 60.0, dt, 0.0);
    lag_init(&u_cool, LAG_UPSET * 60.0, dt, 0.0);
    lag_init(&u_t1, LAG_UPSET * 60.0, dt, 0.0);
    lag_init(&u_t2, LAG_UPSET * 60.0, dt, 0.0);
    lag_init(&u_poison, LAG_UPSET * 60.0, dt, 1.0);
    lag_init(&u_purity, LAG_UPSET * 60.0, dt, 0.0);
    next_switch = 3600.0 * uniform_in(&r_sched, 12.0, 48.0);
    next_tank = 3600.0 * uniform_in(&r_sched, 12.0, 48.0);

    for (i = 0; i < o->rows; i++) {
        double tsec = (double)i * dt, thour = tsec / 3600.0, tday = tsec / 86400.0;
        double target[SP_N], d[D_N], meas[N_SENSORS];
        double up_feed = 0.0, up_cool = 0.0, up_t1 = 0.0, up_t2 = 0.0, up_poison = 1.0;
        double up_purity = 0.0, age;
        const struct episode *e = NULL;
        struct pstate s;
        struct outputs y;
        size_t k;

        /* Campaign changes and feed-tank changes. */
        while (tsec >= next_switch) {
            line = 1 - line;
            next_switch += 3600.0 * uniform_in(&r_sched, 12.0, 48.0);
        }
        while (tsec >= next_tank) {
            purity_level = uniform_in(&r_sched, 97.8, 99.4);
            next_tank += 3600.0 * uniform_in(&r_sched, 12.0, 48.0);
        }

        for (j = 0; j < SP_N; j++) {
            setpoint_step(&sp[j], dt, &r_sp);
            target[j] = sp[j].value;
        }
        target[SP_T1] += trains[line].t_shift;
        for (j = 0; j < D_N; j++)
            d[j] = ou_step(&dist[j], &r_dist);

        while (e_next < nep && ep[e_next].start + ep[e_next].len <= i)
            e_next++;
        if (e_next < nep && ep[e_next].start <= i)
            e = &ep[e_next];
        if (e && i - e->start < e->active) {
            switch (e->kind) {
            case EP_SURGE:
                /* The extra feed brings extra heat of reaction. */
                up_feed = e->mag;
                up_t1 = 0.3 * e->mag;
                up_t2 = 0.2 * e->mag;
                break;
            case EP_COOLING:
                up_cool = e->mag;
                up_t1 = 0.9 * e->mag;
                up_t2 = 0.8 * e->mag;
                break;
            case EP_POISON:
                up_poison = e->mag;
                up_purity = -e->aux;
                break;
            case EP_EXCURSION:
                switch ((enum excursion)e->target) {
                case EX_T1_HIGH:
                    target[SP_T1] = sp[SP_T1].hi + 5.0 + 5.0 * e->mag + trains[line].t_shift;
                    break;
                case EX_T1_LOW:
                    target[SP_T1] = sp[SP_T1].lo - 5.0 - 5.0 * e->mag + trains[line].t_shift;
                    break;
                case EX_FEED_HIGH:
                    target[SP_FEED] = sp[SP_FEED].hi + 2.5 + 2.0 * e->mag;
                    break;
                case EX_TEV_HIGH:
                    target[SP_TEV] = sp[SP_TEV].hi + 4.0 + 4.0 * e->mag;
                    break;
                case EX_REFLUX_LOW:
                    target[SP_REFLUX] = sp[SP_REFLUX].lo - 0.5 - 0.3 * e->mag;
                    break;
                case EX_BPE_HIGH:
                    target[SP_BPE] = sp[SP_BPE].hi + 5.0 + 4.0 * e->mag;
                    break;
                case EX_N:
                    break;
                }
                break;
            default:
                break;
            }
        }
        lag_step(&u_feed, up_feed);
        lag_step(&u_cool, up_cool);
        lag_step(&u_t1, up_t1);
        lag_step(&u_t2, up_t2);
        lag_step(&u_poison, up_poison);
        lag_step(&u_purity, up_purity);
        for (j = 0; j < SP_N; j++)
            lag_step(&l_sp[j], target[j]);

        /* True process state. */
        s.line = line;
        s.feed = l_sp[SP_FEED].y + d[D_FEED] + u_feed.y;
        s.cat = lag_step(&l_cat, l_sp[SP_CATR].y * s.feed);
        s.air = lag_step(&l_air, l_sp[SP_AIRR].y * (1.0 + d[D_AIR]) * s.feed);
        s.purity = fmin(lag_step(&l_purity, purity_level) + d[D_PURITY] + u_purity.y, 99.95);
        {
            /* Daily cycle of the cooling-water supply, warmest mid-afternoon. */
            double cool = 26.0 + 2.5 * sin(2.0 * M_PI * (thour - 9.0) / 24.0) + d[D_COOL] +
                          u_cool.y;
            meas[C_COOL - C_FEED] = cool;
            /* The temperature controllers reject only part of the cooling-water
             * and feed disturbances. */
            s.t1 = l_sp[SP_T1].y + 0.25 * (cool - 26.0) + 0.15 * (s.feed - 21.0) + d[D_T1] +
                   u_t1.y;
            s.t2 = l_sp[SP_T1].y + l_sp[SP_T2OFF].y + 0.2 * (cool - 26.0) + d[D_T2] + u_t2.y;
        }
        s.p1 = l_sp[SP_P1].y * exp(0.012 * (s.t1 - 160.0)) + d[D_P1];
        s.p2 = s.p1 - 0.3 - 0.25 * (s.feed / 20.0) * (s.feed / 20.0) +
               0.01 * (s.t2 - s.t1 - 13.0) + d[D_P2];
        s.tev = l_sp[SP_TEV].y + d[D_TEV];
        s.bpe = l_sp[SP_BPE].y + d[D_BPE];
        s.reflux = l_sp[SP_REFLUX].y + d[D_REFLUX];
        age = fmod(cat_age0[line] + tday, trains[line].cat_cycle);
        s.activity = exp(-age / 90.0) * u_poison.y;
        plant_outputs(&s, &y);

        /* Sensors: true value + noise, then a fault if one is active. */
        meas[C_FEED - C_FEED] = s.feed;
        meas[C_CAT - C_FEED] = s.cat;
        meas[C_AIR - C_FEED] = s.air;
        meas[C_PURITY - C_FEED] = s.purity;
        meas[C_T1 - C_FEED] = s.t1;
        meas[C_P1 - C_FEED] = s.p1;
        meas[C_T2 - C_FEED] = s.t2;
        meas[C_P2 - C_FEED] = s.p2;
        meas[C_TEV - C_FEED] = s.tev;
        meas[C_PEV - C_FEED] = boiling_pressure(s.tev - s.bpe);
        meas[C_REFLUX - C_FEED] = s.reflux;
        for (k = 0; k < N_SENSORS; k++)
            meas[k] += sensors[k].noise * ml_rng_normal(&r_noise);
        {
            double su = ml_rng_uniform(&r_spike), sv = ml_rng_uniform(&r_spike);

            if (e && e->kind <= EP_DRIFT) {
                int q = e->sensor;
                size_t pos = i - e->start;

                switch (e->kind) {
                case EP_STUCK:
                    if (pos == 0)
                        stuck = meas[q];
                    meas[q] = stuck;
                    break;
                case EP_BIAS:
                    meas[q] += e->mag;
                    break;
                case EP_SPIKE:
                    /* A spike on the first row and on ~30% of the others. */
                    if (pos == 0 || su < 0.3)
                        meas[q] += (sv < 0.5 ? -1.0 : 1.0) * (0.6 + 1.8 * fabs(sv - 0.5)) *
                                   sensors[q].span;
                    break;
                case EP_DRIFT:
                    meas[q] += e->mag * (double)(pos + 1) / (double)e->len;
                    break;
                default:
                    break;
                }
            }
        }
        for (k = 0; k < N_SENSORS; k++) {
            double x = fmin(fmax(meas[k], sensors[k].lo), sensors[k].hi);
            v[C_FEED + k][i] = round_to(x, columns[C_FEED + k].decimals);
        }

        /* Analyser noise: in logit space for conversions so they stay in
         * (0, 1), multiplicative for the concentration. */
        {
            double n1 = ml_rng_normal(&r_out), n2 = ml_rng_normal(&r_out);
            double n3 = ml_rng_normal(&r_out), n4 = ml_rng_normal(&r_out);
            double l1 = log(y.x1 / (1.0 - y.x1)) + 0.03 * n1;
            double l2 = log(y.x2 / (1.0 - y.x2)) + 0.03 * n2;
            double x1 = round_to(1.0 / (1.0 + exp(-l1)), columns[C_OX1].decimals);
            double x2 = round_to(1.0 / (1.0 + exp(-l2)), columns[C_OX2].decimals);
            /* Rounding could give exactly 0 or 1: keep conversions one
             * rounding step inside (0, 1). */
            double q = 1.0 / p10[columns[C_OX1].decimals];
            v[C_OX1][i] = fmin(fmax(x1, q), 1.0 - q);
            v[C_OX2][i] = fmin(fmax(x2, q), 1.0 - q);
            v[C_CONC][i] = round_to(y.conc * exp(0.03 * n3), columns[C_CONC].decimals);
            v[C_YIELD][i] = round_to(y.yield + 0.3 * n4, columns[C_YIELD].decimals);
        }
        v[C_TIME][i] = round_to(tsec / 60.0, columns[C_TIME].decimals);
        v[C_LINE][i] = (double)line;
        v[C_ABN][i] = e ? 1.0 : 0.0;
    }

    /* Communication gaps: runs of 1-5 samples (mean 3), so a run starts with
     * probability missing_fraction/3 per row. */
    for (j = 0; j < sizeof gappy / sizeof gappy[0]; j++) {
        double *c = v[gappy[j]];
        double p = o->missing_fraction / 3.0;

        for (i = 0; i < o->rows; i++) {
            if (ml_rng_uniform(&r_miss) < p) {
                size_t len = 1 + (size_t)ml_rng_below(&r_miss, 5), k;
                for (k = 0; k < len && i < o->rows; k++, i++)
                    c[i] = NAN;
                i--;
            }
        }
    }
    t->nrow = o->rows;
    *out = t;
    t = NULL;

cleanup:
    free(ep);
    ml_table_free(t);
    return st;
}
