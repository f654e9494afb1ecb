"""A gRPC client of ss-replay serve in another language than the server: Python with python3-grpcio.

Usage: replay_client.py ADDR PB_DIR COMMAND [ARGS]   (PB_DIR holds shadowstream_pb2.py from protoc --python_out)
  create KEY=VALUE...    ReplayRequest fields (speed_factor=10 source=file:/x target=dbname=y create_tables=1)
                         -> prints the job id
  get|pause|resume|cancel ID -> prints "state records_done records_total"
  list                   -> one "id state" line per job
  stream ID              -> one "state records_done" line per update, until the job ends
Token: $SS_TOKEN, sent as a bearer header. gRPC errors: "error CODE details" on stdout, exit 3.
"""
import os
import sys

import grpc

addr, pb_dir, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sys.path.insert(0, pb_dir)
import shadowstream_pb2 as pb  # noqa: E402

ch = grpc.insecure_channel(addr)
meta = [("authorization", "Bearer " + os.environ["SS_TOKEN"])] if os.environ.get("SS_TOKEN") else []


def unary(name, req_type, resp_type):
    return ch.unary_unary("/shadowstream.v1.Replayer/" + name, request_serializer=req_type.SerializeToString,
                          response_deserializer=resp_type.FromString)


def state(s):
    return pb.JobState.Name(s).replace("JOB_STATE_", "").lower()


try:
    if cmd == "create":
        req = pb.ReplayRequest()
        for kv in args:
            k, v = kv.split("=", 1)
            field = req.DESCRIPTOR.fields_by_name[k]
            if field.label == field.LABEL_REPEATED:
                getattr(req, k).append(v)
            elif field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
                setattr(req, k, float(v))
            elif field.type == field.TYPE_BOOL:
                setattr(req, k, v not in ("0", "false", ""))
            elif field.type in (field.TYPE_INT64, field.TYPE_UINT64, field.TYPE_INT32, field.TYPE_UINT32):
                setattr(req, k, int(v))
            else:
                setattr(req, k, v)
        resp = unary("ReplayEvent", pb.ReplayRequest, pb.ReplayResponse)(req, metadata=meta, timeout=10)
        print(resp.job.id)
    elif cmd in ("get", "pause", "resume", "cancel"):
        name = {"get": "GetJob", "pause": "PauseJob", "resume": "ResumeJob", "cancel": "CancelJob"}[cmd]
        job = unary(name, pb.JobRef, pb.ReplayJob)(pb.JobRef(id=args[0]), metadata=meta, timeout=10)
        print(state(job.state), job.progress.records_done, job.progress.records_total)
    elif cmd == "list":
        resp = unary("ListJobs", pb.ListJobsRequest, pb.ListJobsResponse)(pb.ListJobsRequest(), metadata=meta,
                                                                         timeout=10)
        for job in resp.jobs:
            print(job.id, state(job.state))
    elif cmd == "stream":
        stream = ch.unary_stream("/shadowstream.v1.ProgressTracker/StreamProgress",
                                 request_serializer=pb.ProgressRequest.SerializeToString,
                                 response_deserializer=pb.ProgressUpdate.FromString)
        for u in stream(pb.ProgressRequest(job_id=args[0]), metadata=meta, timeout=120):
            print(state(u.state), u.records_done, flush=True)
    else:
        sys.exit("unknown command " + cmd)
except grpc.RpcError as e:
    print("error", e.code().name, e.details())
    sys.exit(3)
