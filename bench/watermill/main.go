// Command watermill runs the gobus benchmark's workloads through Watermill
// with watermill-nats in JetStream mode, against the server the gobus
// benchmark started. It lives in its own module so that Watermill stays
// out of gobus's dependencies; go run ./bench calls it and prints its
// figures next to gobus's.
//
//	go run . -url nats://127.0.0.1:4222 -peer nats
//
// Two peers: -peer jetstream is watermill-nats' pkg/jetstream (a pull
// consumer handing out one message at a time, each ack awaited); -peer
// nats is its pkg/nats in JetStream mode tuned as its authors recommend
// for throughput: a durable queue push consumer, -subscribers
// subscriptions delivering at once, and AckAsync.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// topic is the stream and subject of the run's peer.
var topic = "wm_work"

// peerKit is how one peer publishes and subscribes.
type peerKit struct {
	publisher  func(nc *nats.Conn) (message.Publisher, error)
	subscriber func(url string) (message.Subscriber, error)
}

func kitFor(peer string, subscribers, prefetch int) (peerKit, error) {
	logger := watermill.NopLogger{}
	switch peer {
	case "jetstream":
		return peerKit{
			publisher: func(nc *nats.Conn) (message.Publisher, error) {
				return wmjs.NewPublisher(wmjs.PublisherConfig{Conn: nc, Logger: logger, ConfigureStream: streamConfig})
			},
			subscriber: func(url string) (message.Subscriber, error) {
				// Its own connection: Close drains the subscriber's connection.
				return wmjs.NewSubscriber(wmjs.SubscriberConfig{URL: url, Logger: logger, ConfigureStream: streamConfig,
					ResourceInitializer: wmjs.GroupedConsumer("bench")})
			},
		}, nil
	case "nats":
		js := wmnats.JetStreamConfig{
			AckAsync:         true,
			DurablePrefix:    "bench",
			SubscribeOptions: []nats.SubOpt{nats.DeliverAll(), nats.AckExplicit(), nats.MaxAckPending(prefetch)},
		}
		return peerKit{
			publisher: func(nc *nats.Conn) (message.Publisher, error) {
				return wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
					Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator, JetStream: js}, logger)
			},
			subscriber: func(url string) (message.Subscriber, error) {
				return wmnats.NewSubscriber(wmnats.SubscriberConfig{URL: url, QueueGroupPrefix: "bench",
					SubscribersCount: subscribers, JetStream: js, CloseTimeout: 5 * time.Second}, logger)
			},
		}, nil
	}
	return peerKit{}, fmt.Errorf("-peer %q: use jetstream or nats", peer)
}

func main() {
	url := flag.String("url", nats.DefaultURL, "NATS server URL")
	n := flag.Int("n", 20000, "messages per send and pump round")
	rounds := flag.Int("rounds", 5, "rounds per workload; medians are reported")
	rate := flag.Int("rate", 2000, "messages per second in the latency workload")
	duration := flag.Duration("duration", 3*time.Second, "length of the latency round")
	peer := flag.String("peer", "jetstream", "watermill-nats package: jetstream, or nats (JetStream mode, AckAsync)")
	subscribers := flag.Int("subscribers", 16, "with -peer nats: subscriptions delivering at once (gobus's concurrency)")
	prefetch := flag.Int("prefetch", 64, "with -peer nats: the consumer's max ack pending (gobus's prefetch)")
	flag.Parse()
	kit, err := kitFor(*peer, *subscribers, *prefetch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "watermill bench:", err)
		os.Exit(2)
	}
	topic = "wm_" + *peer
	if err := run(kit, *url, *n, *rounds, *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "watermill bench:", err)
		os.Exit(1)
	}
}

// streamConfig is the same kind of stream gobus uses for a queue.
func streamConfig(t string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: t, Subjects: []string{t}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}
}

func run(kit peerKit, url string, n, rounds, rate int, duration time.Duration) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(context.Background(), streamConfig(topic)); err != nil {
		return err
	}
	pub, err := kit.publisher(nc)
	if err != nil {
		return err
	}
	body := []byte("\n\x051234567") // a small protobuf body, like the gobus bench's Work
	var sends, pumps []float64
	for range rounds {
		start := time.Now()
		if err := publish(pub, n, body); err != nil {
			return err
		}
		sends = append(sends, float64(n)/time.Since(start).Seconds())
		if err := purge(js); err != nil {
			return err
		}

		if err := publish(pub, n, body); err != nil {
			return err
		}
		rate, err := pump(kit, url, n, nil)
		if err != nil {
			return err
		}
		pumps = append(pumps, rate)
	}
	if err := purge(js); err != nil {
		return err
	}
	p50, p99, err := latency(kit, pub, url, rate, duration)
	if err != nil {
		return err
	}
	fmt.Printf("watermill send %.0f\n", median(sends))
	fmt.Printf("watermill pump %.0f\n", median(pumps))
	fmt.Printf("watermill p50 %s\n", p50)
	fmt.Printf("watermill p99 %s\n", p99)
	return nil
}

// publish sends n messages with Publisher.Publish, which waits for each
// acknowledgement, in calls of 100 messages.
func publish(pub message.Publisher, n int, body []byte) error {
	batch := make([]*message.Message, 0, 100)
	for i := range n {
		batch = append(batch, message.NewMessage(watermill.NewUUID(), body))
		if len(batch) == cap(batch) || i == n-1 {
			if err := pub.Publish(topic, batch...); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// pump subscribes, acks n messages and returns the rate; each is given to
// observe first, if set.
func pump(kit peerKit, url string, n int, observe func(*message.Message)) (float64, error) {
	sub, err := kit.subscriber(url)
	if err != nil {
		return 0, err
	}
	defer sub.Close()
	var msgs <-chan *message.Message
	for try := 0; ; try++ {
		// Creating the consumer right after the last round closed can
		// race in the server's store; try again.
		if msgs, err = sub.Subscribe(context.Background(), topic); err == nil || try == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return 0, err
	}
	var first time.Time // timed from the first message to the last, as gobus's bench times its pumps
	for i := 0; i < n; i++ {
		select {
		case m := <-msgs:
			if i == 0 {
				first = time.Now()
			}
			if observe != nil {
				observe(m)
			}
			m.Ack()
		case <-time.After(2 * time.Minute):
			return 0, fmt.Errorf("watermill subscriber got %d of %d messages", i, n)
		}
	}
	return float64(n-1) / time.Since(first).Seconds(), nil
}

// latency publishes at a fixed rate and measures publish to handled.
func latency(kit peerKit, pub message.Publisher, url string, rate int, duration time.Duration) (time.Duration, time.Duration, error) {
	n := int(float64(rate) * duration.Seconds())
	var mu sync.Mutex
	var lat []time.Duration
	done := make(chan error, 1)
	go func() {
		_, err := pump(kit, url, n, func(m *message.Message) {
			sent, _ := strconv.ParseInt(m.Metadata.Get("sent"), 10, 64)
			mu.Lock()
			lat = append(lat, time.Since(time.Unix(0, sent)))
			mu.Unlock()
		})
		done <- err
	}()
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		m := message.NewMessage(watermill.NewUUID(), []byte("x"))
		m.Metadata.Set("sent", strconv.FormatInt(time.Now().UnixNano(), 10))
		if err := pub.Publish(topic, m); err != nil {
			return 0, 0, err
		}
	}
	if err := <-done; err != nil {
		return 0, 0, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

func purge(js jetstream.JetStream) error {
	s, err := js.Stream(context.Background(), topic)
	if err != nil {
		return err
	}
	return s.Purge(context.Background())
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
