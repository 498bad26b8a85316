/*
 * store/shares: the settings of flow control between owners and priorities
 * (sql/schema/027_fair_shares.sql): owners' weights (their share of the starts, which the fair
 * place in line applies: sql/functions/submit.sql) and queues' priority aging (applied by the
 * workers' maintenance: sql/functions/aging.sql). Set and list only; must not place or claim.
 */
#ifndef TASKQ_STORE_SHARES_H
#define TASKQ_STORE_SHARES_H

#include "base/err.h"
#include "store/db.h"

#define WEIGHT_MIN 0.01
#define WEIGHT_MAX 100.0
#define AGING_STEP_MIN 0.1
#define AGING_STEP_MAX 2592000.0

/* An owner's weight (an owner without a row has weight 1). */
struct owner_weight {
	char owner[72];
	double weight;
};

/* Sets owner's weight (WEIGHT_MIN to WEIGHT_MAX; taskq.set_owner_weight). TASKQ_INVAL for a
 * bad owner name or weight. */
enum taskq_rc store_weight_put(struct db *db, const char *owner, double weight,
			       struct taskq_err *err);
/* Every owner with a weight of its own, by owner; the caller frees *out. */
enum taskq_rc store_weight_list(struct db *db, struct owner_weight **out, int *n,
				struct taskq_err *err);
/* Sets queue's aging to one step of priority per seconds (AGING_STEP_MIN to AGING_STEP_MAX),
 * or clears it (0); taskq.set_queue_aging. TASKQ_INVAL for a bad queue name or step. */
enum taskq_rc store_aging_put(struct db *db, const char *queue, double seconds,
			      struct taskq_err *err);

#endif
