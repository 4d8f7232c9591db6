/* test_nn_train.c — reproducibility: the same seed and thread count give
 * bit-identical weights; a checkpoint resumes exactly. */
#include "harness.h"
#include "trainer.h"

#include <string.h>

TEST(nn_train_same_seed_same_bits)
{
    trainer a, b, c;
    CHECK(!trainer_init(&a, 11, 0) && !trainer_init(&b, 11, 0) && !trainer_init(&c, 12, 0));
    CHECK_MSG(!trainer_run(&a, 6), "%s", tal_errmsg());
    CHECK_MSG(!trainer_run(&b, 6), "%s", tal_errmsg());
    CHECK_MSG(!trainer_run(&c, 6), "%s", tal_errmsg());
    CHECK_MSG(trainer_same(&a, &b), "two runs with seed 11 differ");
    CHECK_MSG(!trainer_same(&a, &c), "seeds 11 and 12 gave the same weights");
    /* training moved the weights and the loss is finite */
    trainer d;
    CHECK(!trainer_init(&d, 11, 0));
    CHECK(memcmp(tal_params_data(a.P), tal_params_data(d.P), tal_params_size(a.P) * 4));
    CHECK(a.last_loss > 0 && a.last_loss < 1e6);
    trainer_free(&a);
    trainer_free(&b);
    trainer_free(&c);
    trainer_free(&d);
}

TEST(nn_train_same_bits_threaded)
{
    /* big enough that every kernel's OpenMP loop and the split sgemm run on
     * all threads: the same seed and thread count still give the same bits */
    trainer a, b;
    CHECK(!trainer_init(&a, 5, 1) && !trainer_init(&b, 5, 1));
    CHECK_MSG(!trainer_run(&a, 3), "%s", tal_errmsg());
    CHECK_MSG(!trainer_run(&b, 3), "%s", tal_errmsg());
    CHECK_MSG(trainer_same(&a, &b), "two threaded runs (%d threads) differ", tal_cpu_threads());
    trainer_free(&a);
    trainer_free(&b);
}

TEST(nn_train_resume_is_exact)
{
    trainer full, part, resumed;
    CHECK(!trainer_init(&full, 21, 0) && !trainer_init(&part, 21, 0));
    CHECK_MSG(!trainer_run(&full, 7), "%s", tal_errmsg());
    CHECK_MSG(!trainer_run(&part, 3), "%s", tal_errmsg());
    const char *path = tal_test_path("resume.ckpt");
    CHECK_MSG(!trainer_save(&part, path), "%s", tal_errmsg());
    trainer_free(&part);
    /* a fresh start from another seed, then everything from the checkpoint */
    CHECK(!trainer_init(&resumed, 999, 0));
    CHECK_MSG(!trainer_load(&resumed, path), "%s", tal_errmsg());
    CHECK_EQ_INT(resumed.step, 3);
    CHECK_MSG(!trainer_run(&resumed, 4), "%s", tal_errmsg());
    CHECK_MSG(trainer_same(&full, &resumed), "7 steps straight and 3 + checkpoint + 4 differ");
    trainer_free(&full);
    trainer_free(&resumed);
}
