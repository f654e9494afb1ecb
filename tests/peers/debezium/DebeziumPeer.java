// The Debezium peer: Debezium's PostgreSQL connector in its embedded engine, each event's value written to stdout as
// one line of JSON (Kafka Connect's JSON converter, schemas off), as a Kafka consumer of Debezium's topics would read
// it. A test and benchmark peer only (tests/peers/fetch-debezium.sh compiles it); nothing of it is in ShadowStream.
//
// Usage: java -cp LIBS:CLASSES DebeziumPeer key=value...   (connector properties; they override the defaults below)
// Runs until SIGTERM or SIGINT, then stops the engine (committing its offsets) and exits 0; a connector that fails
// stops it with 70 and its reason on stderr.
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

public final class DebeziumPeer {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.setProperty("name", "debezium-peer");
    p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("topic.prefix", "peer");
    p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
    p.setProperty("offset.flush.interval.ms", "1000");
    p.setProperty("converter.schemas.enable", "false");
    // The lossless encodings ss-cat --format debezium writes (ss-cat(1)).
    p.setProperty("decimal.handling.mode", "string");
    p.setProperty("time.precision.mode", "adaptive");
    p.setProperty("interval.handling.mode", "string");
    p.setProperty("binary.handling.mode", "base64");
    p.setProperty("provide.transaction.metadata", "true");
    // TRUNCATE is an event of its own, as ShadowStream's records have it (the connector skips it by default).
    p.setProperty("skipped.operations", "none");
    for (String a : args) {
      int i = a.indexOf('=');
      if (i <= 0) {
        System.err.println("DebeziumPeer: expected key=value, got " + a);
        System.exit(64);
      }
      p.setProperty(a.substring(0, i), a.substring(i + 1));
    }
    PrintStream out =
        new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16), false, StandardCharsets.UTF_8);
    AtomicInteger status = new AtomicInteger(0);
    CountDownLatch done = new CountDownLatch(1);
    DebeziumEngine<ChangeEvent<String, String>> engine =
        DebeziumEngine.create(Json.class)
            .using(p)
            .notifying((records, committer) -> {
              for (ChangeEvent<String, String> r : records) {
                if (r.value() != null) out.println(r.value());
                committer.markProcessed(r);
              }
              out.flush();
              committer.markBatchFinished();
            })
            .using((success, message, error) -> {
              if (!success) {
                System.err.println("DebeziumPeer: the connector stopped: " + message + (error == null ? "" : ": " + error));
                status.set(70);
              }
              done.countDown();
            })
            .build();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    executor.execute(engine);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        engine.close();
        done.await();
      } catch (Exception e) {
        // Exiting anyway.
      }
      out.flush();
    }));
    done.await();
    executor.shutdown();
    out.flush();
    System.exit(status.get());
  }
}
