package dev.eestream.ops.support;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress display for work made of a few stages: nothing for work that ends within a second,
 * a bar on standard error from the first stage that starts later than that.
 */
public final class StageProgress implements AutoCloseable {
    private final String task;
    private final int stages;
    private final long started = System.nanoTime();
    private ProgressBar bar;
    private int done;

    public StageProgress(String task, int stages) {
        this.task = task;
        this.stages = stages;
    }

    /** Marks the previous stage done and names the next one. */
    public void stage(String name) {
        if (bar == null && System.nanoTime() - started > 1_000_000_000L) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(stages).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200).continuousUpdate().hideEta().build();
            bar.stepTo(done);
        }
        done++;
        if (bar != null) {
            bar.stepTo(Math.min(done - 1, stages));
            bar.setExtraMessage(name);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.stepTo(stages);
            bar.setExtraMessage("done");
            bar.close();
        }
    }
}
