#pragma once
// Where a generation job gets each candidate's pipeline: the seam between the batch jobs and
// libtorch. The real factory builds the family's pipeline from the candidate's plan
// (FamilyEntry::make); a test hands a job a stand-in (e.g. one that runs out of memory above
// some batch size). Torch-free.
#include <memory>

namespace catimage {

class ImagePipeline;
struct GenerationPlan;

class PipelineFactory {
 public:
  virtual ~PipelineFactory() = default;
  // The pipeline of a candidate whose plan runs (GenerationPlan::runs).
  virtual std::unique_ptr<ImagePipeline> make(const GenerationPlan& plan) const = 0;
};

// The real one: the plan's family builds its libtorch pipeline from plan.pipeline.
const PipelineFactory& family_pipelines();

}  // namespace catimage
