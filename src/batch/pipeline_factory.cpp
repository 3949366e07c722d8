#include "catimage/batch/pipeline_factory.hpp"

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/diffusion/image_pipeline.hpp"

namespace catimage {

namespace {

class FamilyPipelines : public PipelineFactory {
 public:
  std::unique_ptr<ImagePipeline> make(const GenerationPlan& plan) const override {
    return plan.family->make(plan.pipeline);
  }
};

}  // namespace

const PipelineFactory& family_pipelines() {
  static const FamilyPipelines factory;
  return factory;
}

}  // namespace catimage
